package security

import (
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// Shared helpers of the issue-13 hardening tests: every attack is run
// against a real server on SQLite and on Postgres, from loopback
// addresses other than 127.0.0.1 where the attacker's address matters.

// backends runs fn against one server on a fresh SQLite file and one on a
// fresh Postgres database (pgtest's skip rules), each built from
// baseConfig with adjust applied.
func backends(t *testing.T, adjust func(*config.Config), fn func(t *testing.T, s *srv)) {
	t.Helper()
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			cfg := baseConfig(t)
			if b == "postgres" {
				cfg.DatabaseURL = pgtest.URL(t)
			} else {
				cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "sesame.db")
			}
			if adjust != nil {
				adjust(&cfg)
			}
			fn(t, start(t, cfg))
		})
	}
}

// fromAddr is an HTTP client whose connections leave from the loopback
// address ip (Linux routes all of 127.0.0.0/8 to lo), so the server sees a
// different client address than 127.0.0.1 without any proxy header.
func fromAddr(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	jar, _ := cookiejar.New(nil)
	return &http.Client{Timeout: 30 * time.Second, CheckRedirect: noRedirect, Jar: jar,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}}}
}

// as is s with every request sent from the loopback address ip.
func (s *srv) as(ip string) *srv {
	c := *s
	c.hc = fromAddr(s.t, ip)
	return &c
}
