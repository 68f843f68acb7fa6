package httpx_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/httpx"
)

func TestForPaths(t *testing.T) {
	e := gin.New()
	e.HandleMethodNotAllowed = true // as internal/server configures it
	e.Use(httpx.ForPaths(httpx.RateLimit(httpx.RateLimitConfig{Rate: 1, Burst: 1}), "/limited"))
	s := openStore(t)
	createClient(t, s, "spa", "https://app.example.com")
	e.Use(httpx.ForPaths(httpx.CORS(httpx.NewStoreOrigins(s, 0, nil), httpx.CORSClient), "/oauth2/token"))
	e.Use(httpx.ForPaths(func(c *gin.Context) { c.Header("X-Matched", "yes"); c.Next() }, "/reg", "/reg/*"))
	e.GET("/limited", ok)
	e.GET("/reg", ok)
	e.GET("/reg/:id", ok)
	e.GET("/register", ok)
	e.GET("/free", ok)
	e.POST("/oauth2/token", ok)

	for path, want := range map[string]string{"/reg": "yes", "/reg/abc": "yes", "/register": "", "/free": ""} {
		if got := do(t, e, req{path: path}).Header().Get("X-Matched"); got != want {
			t.Errorf("path %s matched = %q, want %q", path, got, want)
		}
	}

	client := req{remote: "198.51.100.1:1"}
	for i := range 3 {
		client.path = "/free"
		if w := do(t, e, client); w.Code != http.StatusOK {
			t.Fatalf("request %d to a path outside the list: %d", i, w.Code)
		}
	}
	client.path = "/limited"
	do(t, e, client)
	if w := do(t, e, client); w.Code != http.StatusTooManyRequests {
		t.Errorf("second request to the listed path: %d, want 429", w.Code)
	}

	// No OPTIONS route exists: the engine-wide CORS still answers the
	// preflight on gin's 405 path.
	w := do(t, e, req{method: http.MethodOptions, path: "/oauth2/token", header: map[string]string{
		"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
	}})
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("preflight without an OPTIONS route: %d, ACAO %q", w.Code, w.Header().Get("Access-Control-Allow-Origin"))
	}
}
