package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpstreamsList(t *testing.T) {
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "authorization_endpoint": srv.URL + "/authorize",
			"token_endpoint": srv.URL + "/token", "jwks_uri": srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1","use":"sig","alg":"ES256"}]}`))
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()

	dir := t.TempDir()
	conf := filepath.Join(dir, "sesame.yaml")
	yaml := "upstreams:\n" +
		"  - {id: corp, name: Corp SSO, type: oidc, issuer: " + srv.URL + ", client_id: c1}\n" +
		"  - {id: gone, name: Gone SSO, type: oidc, issuer: http://" + dead + ", client_id: c2}\n"
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t, "sqlite:"+filepath.Join(dir, "s.db"), "SESAME_UPSTREAM_CORP_CLIENT_SECRET=s1", "SESAME_UPSTREAM_GONE_CLIENT_SECRET=s2")

	out := c.ok("", "--config", conf, "upstreams", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(lines[1], "corp") || !strings.Contains(lines[1], "reachable") || !strings.Contains(lines[1], "discovery ok; jwks ok") ||
		!strings.Contains(lines[2], "gone") || !strings.Contains(lines[2], "unreachable") {
		t.Fatalf("table:\n%s", out)
	}
	var got struct {
		Items []struct {
			ID     string `json:"id"`
			Type   string `json:"type"`
			OK     bool   `json:"ok"`
			Probes []struct {
				What string `json:"what"`
				OK   bool   `json:"ok"`
			} `json:"probes"`
		} `json:"items"`
	}
	c.json(&got, "", "--config", conf, "upstreams", "list", "--json")
	if len(got.Items) != 2 || !got.Items[0].OK || got.Items[1].OK || got.Items[0].Type != "oidc" || len(got.Items[0].Probes) != 2 {
		t.Fatalf("json: %+v", got)
	}

	// A secret in the file is refused with one line naming the upstream.
	if err := os.WriteFile(conf, []byte("upstreams:\n  - {id: corp, name: C, type: oidc, issuer: "+srv.URL+", client_id: c1, client_secret: x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.fails(1, `upstream "corp": client_secret is refused`, "", "--config", conf, "upstreams", "list")
}
