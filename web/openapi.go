package web

import (
	_ "embed"
	"net/http"
	"strconv"
)

// OpenAPI is the description of the API (OpenAPI 3.1), served at /api/openapi.json. docs/openapi.json is the same
// file (a test checks it).
//
//go:embed openapi.json
var OpenAPI []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(OpenAPI)))
	w.Write(OpenAPI)
}
