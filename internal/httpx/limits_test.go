package httpx_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/httpx"
)

const form = "application/x-www-form-urlencoded"

// echoForm answers with the form value "a" as the handler sees it, to prove
// the middleware left the body usable.
func echoForm(c *gin.Context) { c.String(http.StatusOK, c.PostForm("a")) }

func wantJSONError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d (body %s)", w.Code, status, w.Body.String())
	}
	var body httpx.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error != code || body.Description == "" {
		t.Errorf("body %s (%v), want error %q with a description", w.Body.String(), err, code)
	}
}

func TestBodyLimit(t *testing.T) {
	e := gin.New()
	e.POST("/t", httpx.BodyLimit(32), echoForm)

	t.Run("a body within the limit reaches the handler intact", func(t *testing.T) {
		w := do(t, e, req{method: http.MethodPost, path: "/t", body: "a=hello", contentType: form})
		if w.Code != http.StatusOK || w.Body.String() != "hello" {
			t.Errorf("got %d %q", w.Code, w.Body.String())
		}
	})
	t.Run("a declared oversize body is refused with 413", func(t *testing.T) {
		w := do(t, e, req{method: http.MethodPost, path: "/t", body: "a=" + strings.Repeat("x", 40), contentType: form})
		wantJSONError(t, w, http.StatusRequestEntityTooLarge, "invalid_request")
	})
	chunked := func(body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/t", io.MultiReader(strings.NewReader(body)))
		r.ContentLength = -1 // as for Transfer-Encoding: chunked
		r.Header.Set("Content-Type", form)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		return w
	}
	t.Run("a chunked oversize body is refused with 413", func(t *testing.T) {
		wantJSONError(t, chunked("a="+strings.Repeat("x", 40)), http.StatusRequestEntityTooLarge, "invalid_request")
	})
	t.Run("a small chunked body is buffered and passed on", func(t *testing.T) {
		if w := chunked("a=small"); w.Code != http.StatusOK || w.Body.String() != "small" {
			t.Errorf("got %d %q", w.Code, w.Body.String())
		}
	})
}

func TestLimitParams(t *testing.T) {
	e := gin.New()
	lim := httpx.ParamLimits{MaxParams: 5, MaxValueLen: 16}
	e.POST("/t", httpx.BodyLimit(1<<10), httpx.LimitParams(lim), echoForm)
	e.GET("/t", httpx.LimitParams(lim), ok)

	many := url.Values{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		many.Set(k, "1")
	}
	tests := []struct {
		name   string
		r      req
		status int
	}{
		{"a normal form passes and stays readable", req{method: http.MethodPost, path: "/t", body: "a=fine&b=2", contentType: form}, http.StatusOK},
		{"a normal query passes", req{path: "/t?a=1&b=2"}, http.StatusOK},
		{"a long form value is refused", req{method: http.MethodPost, path: "/t", body: "a=" + strings.Repeat("x", 17), contentType: form}, http.StatusBadRequest},
		{"a long query value is refused", req{path: "/t?a=" + strings.Repeat("x", 17)}, http.StatusBadRequest},
		{"a long parameter name is refused", req{path: "/t?" + strings.Repeat("k", 17) + "=1"}, http.StatusBadRequest},
		{"too many form parameters are refused", req{method: http.MethodPost, path: "/t", body: many.Encode(), contentType: form}, http.StatusBadRequest},
		{"query and form values count together", req{method: http.MethodPost, path: "/t?x=1&y=2&z=3", body: "a=1&b=2&c=3", contentType: form}, http.StatusBadRequest},
		{"repeated names count per value", req{path: "/t?a=1&a=2&a=3&a=4&a=5&a=6"}, http.StatusBadRequest},
		{"a malformed query is refused", req{path: "/t?a=%zz"}, http.StatusBadRequest},
		{"a malformed form is refused", req{method: http.MethodPost, path: "/t", body: "a=%zz", contentType: form}, http.StatusBadRequest},
		{"a JSON body is not parsed as a form", req{method: http.MethodPost, path: "/t", body: `{"a":"` + strings.Repeat("x", 100) + `"}`, contentType: "application/json"}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, e, tt.r)
			if tt.status != http.StatusOK {
				wantJSONError(t, w, tt.status, "invalid_request")
				return
			}
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200 (body %s)", w.Code, w.Body.String())
			}
		})
	}
	if w := do(t, e, tests[0].r); w.Body.String() != "fine" {
		t.Errorf("the handler read %q from the form, want %q", w.Body.String(), "fine")
	}
}
