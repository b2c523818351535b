package policyadmin

import (
	_ "embed"
	"net/http"
)

// openAPI describes the admin API (OpenAPI 3.1); tests hold it to Routes
// and to the handlers.
//
//go:embed openapi.yaml
var openAPI []byte

// serveOpenAPI serves the document without a token: it holds no data.
func (a *api) serveOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/yaml")
	_, err := w.Write(openAPI)
	return err
}
