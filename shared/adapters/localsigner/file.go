package localsigner

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
)

// PreviousDir is the subfolder of a LoadOrCreate dir whose *.pem keys
// (PKCS #8 private or PKIX public) are published but no longer used to sign.
const PreviousDir = "previous"

// LoadOrCreate returns a Signer over the PKCS #8 PEM keys in dir, one file
// per alg (rs256.pem, es256.pem; default DefaultAlgs), creating dir (0700)
// and any missing key file (0600). Reusing the files keeps tokens valid
// across restarts of the dev server.
func LoadOrCreate(dir string, algs ...string) (*Signer, error) {
	algs, err := checkAlgs(algs)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("localsigner: %w", err)
	}
	keys := make([]crypto.Signer, 0, len(algs))
	for _, alg := range algs {
		k, err := loadOrCreateKey(filepath.Join(dir, strings.ToLower(alg)+".pem"), alg)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	previous, err := loadPrevious(filepath.Join(dir, PreviousDir))
	if err != nil {
		return nil, err
	}
	return newSigner(keys, previous)
}

func loadOrCreateKey(path, alg string) (crypto.Signer, error) {
	k, err := readPrivateKey(path)
	if err == nil {
		if got, err := jws.KeyAlg(k.Public()); err != nil || got != alg {
			return nil, fmt.Errorf("localsigner: %s does not hold an %s key", path, alg)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	k, err = generateKey(alg)
	if err != nil {
		return nil, err
	}
	switch err := writeKey(path, k); {
	case err == nil:
		return k, nil
	case errors.Is(err, fs.ErrExist):
		// Another process created the file first: use its key.
		return readPrivateKey(path)
	default:
		return nil, err
	}
}

// writeKey writes k to path without ever exposing a partial file: a 0600
// temporary file is linked into place, which fails if path already exists.
func writeKey(path string, k crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return fmt.Errorf("localsigner: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*") // mode 0600
	if err != nil {
		return fmt.Errorf("localsigner: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return fmt.Errorf("localsigner: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("localsigner: write %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("localsigner: %w", err)
	}
	return nil
}

func readPrivateKey(path string) (crypto.Signer, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("localsigner: %s: PEM block %q, want PRIVATE KEY (PKCS #8)", path, block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("localsigner: %s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("localsigner: %s: unsupported key type %T", path, k)
	}
	return s, nil
}

func readPEM(path string) (*pem.Block, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("localsigner: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("localsigner: %s: no PEM block", path)
	}
	return block, nil
}

// loadPrevious reads the *.pem files of dir in name order; a missing dir
// means no previous keys.
func loadPrevious(dir string) ([]oauth.PublicKey, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		return nil, fmt.Errorf("localsigner: %w", err)
	}
	slices.Sort(paths)
	keys := make([]oauth.PublicKey, 0, len(paths))
	for _, path := range paths {
		pub, err := readPublicKey(path)
		if err != nil {
			return nil, err
		}
		alg, err := jws.KeyAlg(pub)
		if err != nil {
			return nil, fmt.Errorf("%w (%s)", err, path)
		}
		kid, err := jws.Thumbprint(pub)
		if err != nil {
			return nil, err
		}
		keys = append(keys, oauth.PublicKey{KeyID: kid, Alg: alg, Key: pub})
	}
	return keys, nil
}

// readPublicKey reads a PKIX public key or the public half of a PKCS #8
// private key.
func readPublicKey(path string) (crypto.PublicKey, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	switch block.Type {
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("localsigner: %s: %w", path, err)
		}
		return pub, nil
	case "PRIVATE KEY":
		k, err := readPrivateKey(path)
		if err != nil {
			return nil, err
		}
		return k.Public(), nil
	default:
		return nil, fmt.Errorf("localsigner: %s: PEM block %q, want PUBLIC KEY or PRIVATE KEY", path, block.Type)
	}
}
