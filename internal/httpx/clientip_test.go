package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/httpx"
)

func TestClientIP(t *testing.T) {
	proxies, err := httpx.ParseTrustedProxies("10.0.0.0/8, 192.0.2.7")
	if err != nil {
		t.Fatalf("ParseTrustedProxies: %v", err)
	}
	tests := []struct {
		name    string
		proxies []string
		remote  string
		xff     string
		want    string
	}{
		{"no proxies: the peer is the client", nil, "203.0.113.5:4000", "", "203.0.113.5"},
		{"no proxies: X-Forwarded-For is ignored", nil, "203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},
		{"untrusted peer: X-Forwarded-For is ignored", proxies, "203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},
		{"trusted CIDR peer: X-Forwarded-For is honoured", proxies, "10.1.2.3:4000", "198.51.100.1", "198.51.100.1"},
		{"trusted single-IP peer: X-Forwarded-For is honoured", proxies, "192.0.2.7:4000", "198.51.100.1", "198.51.100.1"},
		{"a forged leftmost entry loses to the one the proxy appended", proxies, "10.1.2.3:4000", "6.6.6.6, 198.51.100.1", "198.51.100.1"},
		{"trusted hops are skipped from the right", proxies, "10.1.2.3:4000", "198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"trusted peer without the header is the client", proxies, "10.1.2.3:4000", "", "10.1.2.3"},
		{"malformed header falls back to the peer", proxies, "10.1.2.3:4000", "not-an-ip", "10.1.2.3"},
		{"IPv4-mapped IPv6 peer is normalised", nil, "[::ffff:203.0.113.5]:4000", "", "203.0.113.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := gin.New()
			if err := httpx.ConfigureProxies(e, tt.proxies); err != nil {
				t.Fatalf("ConfigureProxies: %v", err)
			}
			var got, fromRequest string
			e.Use(httpx.StoreClientIP())
			e.GET("/ip", func(c *gin.Context) {
				got, fromRequest = httpx.ClientIP(c), httpx.RequestIP(c.Request)
				c.Status(http.StatusNoContent)
			})
			h := map[string]string{"X-Real-IP": "7.7.7.7"} // never honoured
			if tt.xff != "" {
				h["X-Forwarded-For"] = tt.xff
			}
			do(t, e, req{path: "/ip", remote: tt.remote, header: h})
			if got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
			if fromRequest != tt.want {
				t.Errorf("RequestIP after StoreClientIP = %q, want %q", fromRequest, tt.want)
			}
		})
	}
}

func TestRequestIPWithoutMiddleware(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "[::ffff:192.0.2.8]:555"
	r.Header.Set("X-Forwarded-For", "6.6.6.6")
	if got := httpx.RequestIP(r); got != "192.0.2.8" {
		t.Errorf("RequestIP = %q, want the peer 192.0.2.8", got)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{"empty trusts nobody", "", nil, false},
		{"CIDRs are masked and IPs kept", " 10.1.0.0/8 ,::1, fd00::/8", []string{"10.0.0.0/8", "::1", "fd00::/8"}, false},
		{"a hostname is refused", "proxy.internal", nil, true},
		{"a bad prefix is refused", "10.0.0.0/33", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := httpx.ParseTrustedProxies(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
}
