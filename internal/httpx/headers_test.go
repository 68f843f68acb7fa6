package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/httpx"
)

func TestSecurityHeaders(t *testing.T) {
	page := func(c *gin.Context) { c.Data(http.StatusOK, "text/html; charset=utf-8", []byte("<p>hi</p>")) }
	always := map[string]string{
		"Content-Security-Policy": httpx.DefaultCSP,
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
	}
	tests := []struct {
		name     string
		opts     httpx.SecurityOptions
		handler  gin.HandlerFunc
		wantHSTS string
		wantCSP  string
	}{
		{"html page on an http issuer has no HSTS", httpx.SecurityOptions{Issuer: "http://localhost:8080"}, page, "", httpx.DefaultCSP},
		{"html page on an https issuer has HSTS for a year", httpx.SecurityOptions{Issuer: "https://id.example.com"}, page, "max-age=31536000", httpx.DefaultCSP},
		{"json error gets the headers too", httpx.SecurityOptions{Issuer: "https://id.example.com"},
			func(c *gin.Context) { httpx.WriteError(c, http.StatusBadRequest, "invalid_request", "x") }, "max-age=31536000", httpx.DefaultCSP},
		{"a configured form-action is appended", httpx.SecurityOptions{Issuer: "http://localhost", FormAction: []string{"'self'", "https:"}}, page, "",
			httpx.DefaultCSP + "; form-action 'self' https:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := gin.New()
			e.Use(httpx.SecurityHeaders(tt.opts))
			e.GET("/p", tt.handler)
			w := do(t, e, req{path: "/p"})
			for k, v := range always {
				if k == "Content-Security-Policy" {
					v = tt.wantCSP
				}
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got := w.Header().Get("Strict-Transport-Security"); got != tt.wantHSTS {
				t.Errorf("Strict-Transport-Security = %q, want %q", got, tt.wantHSTS)
			}
		})
	}
}

func TestDefaultCSPIsStrict(t *testing.T) {
	for _, directive := range []string{"default-src 'none'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !contains(httpx.DefaultCSP, directive) {
			t.Errorf("DefaultCSP lacks %q", directive)
		}
	}
	for _, loose := range []string{"unsafe-inline", "unsafe-eval", "form-action"} {
		if contains(httpx.DefaultCSP, loose) {
			t.Errorf("DefaultCSP contains %q", loose)
		}
	}
}

func contains(s, sub string) bool {
	return strings.Contains(s, sub)
}

func TestNoStore(t *testing.T) {
	e := gin.New()
	e.POST("/token", httpx.NoStore(), func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"access_token": "x"}) })
	w := do(t, e, req{method: http.MethodPost, path: "/token"})
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := w.Header().Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", got)
	}
}

func TestWriteError(t *testing.T) {
	e := gin.New()
	reached := false
	e.GET("/x", func(c *gin.Context) { httpx.WriteError(c, http.StatusConflict, "conflict", "already exists") },
		func(c *gin.Context) { reached = true })
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/x", nil))
	if w.Code != http.StatusConflict || w.Body.String() != `{"error":"conflict","error_description":"already exists"}` {
		t.Errorf("got %d %s", w.Code, w.Body.String())
	}
	if reached {
		t.Error("WriteError must abort the chain")
	}
}
