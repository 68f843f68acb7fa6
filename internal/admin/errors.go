package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/httpx"
	"github.com/sesameauth/sesame/storage"
)

// maxBodyBytes caps every request body: the largest legitimate one (a client
// with 20 redirect URIs and an inline JWK Set) is far below it.
const maxBodyBytes = 64 << 10

// apiError is the one error type of this package's JSON answers:
// {"error": "...", "error_description": "..."}. Description is written for
// people; it never carries internal detail (the cause is logged instead).
type apiError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Description }

func badRequest(format string, a ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid_request", Description: fmt.Sprintf(format, a...)}
}

// writeError answers err as JSON. Known kinds map to their status; anything
// else is an infrastructure failure: logged with its cause and answered 500
// server_error without detail.
func (h *Handler) writeError(c *gin.Context, err error) {
	var (
		ae *apiError
		ve *app.ValidationError
	)
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ve):
		ae = &apiError{Status: http.StatusBadRequest, Code: "invalid_request", Description: ve.Error()}
	case errors.Is(err, storage.ErrNotFound):
		ae = &apiError{Status: http.StatusNotFound, Code: "not_found", Description: err.Error()}
	case errors.Is(err, storage.ErrConflict):
		ae = &apiError{Status: http.StatusConflict, Code: "conflict", Description: err.Error()}
	default:
		h.log.ErrorContext(c.Request.Context(), "admin: request failed",
			"method", c.Request.Method, "path", c.FullPath(), "err", err)
		ae = &apiError{Status: http.StatusInternalServerError, Code: "server_error", Description: "internal error; see the server log"}
	}
	writeJSON(c, ae.Status, httpx.ErrorBody{Error: ae.Code, Description: ae.Description})
}

func writeJSON(c *gin.Context, status int, v any) {
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Status(status)
	enc := json.NewEncoder(c.Writer)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeJSON reads a JSON object of at most maxBodyBytes into dst. With
// strict, unknown fields are refused (the admin API: a typo must not be
// silently ignored); without, they are skipped (RFC 7591 §2). Every failure
// is a 4xx whose description names the problem and, where known, the field.
func decodeJSON(c *gin.Context, dst any, strict bool, code string) error {
	b, err := readBody(c, code)
	if err != nil {
		return err
	}
	return decodeBytes(b, dst, strict, code)
}

// readBody reads the whole JSON body, bounded by maxBodyBytes, so that
// nothing waits on the network inside a transaction.
func readBody(c *gin.Context, code string) ([]byte, error) {
	if ct := c.ContentType(); ct != "application/json" {
		return nil, &apiError{Status: http.StatusUnsupportedMediaType, Code: code,
			Description: "Content-Type must be application/json"}
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Code: code,
			Description: fmt.Sprintf("request body exceeds %d bytes", maxBodyBytes)}
	case err != nil:
		return nil, &apiError{Status: http.StatusBadRequest, Code: code, Description: "request body could not be read"}
	}
	return b, nil
}

func decodeBytes(b []byte, dst any, strict bool, code string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	fail := func(format string, a ...any) error {
		return &apiError{Status: http.StatusBadRequest, Code: code, Description: fmt.Sprintf(format, a...)}
	}
	if len(bytes.TrimSpace(b)) == 0 || bytes.TrimSpace(b)[0] != '{' {
		return fail("request body must be a JSON object")
	}
	if err := dec.Decode(dst); err != nil {
		var (
			syn *json.SyntaxError
			typ *json.UnmarshalTypeError
		)
		switch {
		case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
			return fail("request body is not valid JSON")
		case errors.As(err, &typ):
			if typ.Field == "" {
				return fail("request body must be a JSON object")
			}
			return fail("%s: must be %s", typ.Field, jsonKind(typ.Type.Kind().String()))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fail("%s: unknown field", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
		}
		return fail("request body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail("request body must hold a single JSON object")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int64", "int32", "float64":
		return "a number"
	}
	return "of another type"
}
