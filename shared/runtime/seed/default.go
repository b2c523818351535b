package seed

import (
	"bytes"
	_ "embed" // the default seed
	"fmt"
)

// DefaultJSON is the default seed of `make run` and of the tests: the demo
// APIs, applications, client grants and user that the README walks through.
//
//go:embed default.json
var DefaultJSON []byte

// DefaultName is how errors and logs name the embedded default seed.
const DefaultName = "the default seed"

// Default parses DefaultJSON for issuer.
func Default(issuer string) (*File, error) {
	f, err := Parse(bytes.NewReader(DefaultJSON), issuer)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", DefaultName, err)
	}
	return f, nil
}

// Open parses the seed file at path, or the default seed when path is "".
func Open(path, issuer string) (*File, error) {
	if path == "" {
		return Default(issuer)
	}
	return ParseFile(path, issuer)
}
