package security

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/config"
)

// selfSigned writes a certificate for 127.0.0.1 and its key; it returns
// their paths and a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLS: Sesame serves HTTPS itself when given a certificate, with TLS
// 1.2 as the floor (RFC 9700 §2.6, RFC 9325 §3.1.1), sends HSTS for an https
// issuer (RFC 6797) and issues __Host- Secure cookies (RFC 6265bis §4.1.3.2).
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	cfg := baseConfig(t)
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	s := start(t, cfg)
	if !strings.HasPrefix(s.issuer, "https://127.0.0.1:") {
		t.Fatalf("issuer %s", s.issuer)
	}
	client := func(min, max uint16) *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: noRedirect,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: min, MaxVersion: max}}}
	}

	t.Run("RFC9325-3.1.1 TLS 1.2 and 1.3 are served", func(t *testing.T) {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			req, _ := http.NewRequest(http.MethodGet, s.issuer+"/healthz", nil)
			if r := doWith(t, client(v, v), req); r.status != http.StatusOK {
				t.Fatalf("TLS %x: status %d", v, r.status)
			}
		}
	})
	t.Run("RFC8996-5 TLS 1.1 is refused", func(t *testing.T) {
		c := client(tls.VersionTLS10, tls.VersionTLS11)
		if resp, err := c.Get(s.issuer + "/healthz"); err == nil {
			resp.Body.Close()
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
	})
	t.Run("RFC6797-7.1 HSTS on an https issuer", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.issuer+"/login", nil)
		r := doWith(t, client(tls.VersionTLS12, 0), req)
		if hsts := r.header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
			t.Fatalf("Strict-Transport-Security = %q", hsts)
		}
	})
	t.Run("RFC6265bis-4.1.3.2 __Host- Secure HttpOnly cookies", func(t *testing.T) {
		c := client(tls.VersionTLS12, 0)
		resp, err := c.Get(s.issuer + "/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cookies := resp.Cookies()
		if len(cookies) == 0 {
			t.Fatal("the login page set no cookie")
		}
		for _, ck := range cookies {
			if !strings.HasPrefix(ck.Name, "__Host-") || !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.Domain != "" {
				t.Errorf("cookie %s: Secure=%v HttpOnly=%v Path=%q Domain=%q, want a __Host- Secure HttpOnly host-only cookie",
					ck.Name, ck.Secure, ck.HttpOnly, ck.Path, ck.Domain)
			}
		}
	})
	t.Run("RFC9700-2.6 plain http to the TLS port is not served", func(t *testing.T) {
		if resp, err := plain.Get("http" + strings.TrimPrefix(s.issuer, "https") + "/healthz"); err == nil {
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatal("plain http answered 200 on the TLS listener")
			}
		}
	})
}

// TestIssuerMustBeHTTPS: an http issuer is refused outside loopback
// (RFC 8414 §2, OIDC Discovery §3, RFC 9700 §2.6), a non-https one too.
func TestIssuerMustBeHTTPS(t *testing.T) {
	for _, tc := range []struct {
		issuer string
		ok     bool
	}{
		{"http://auth.example.com", false},
		{"http://10.0.0.1:8080", false},
		{"ftp://auth.example.com", false},
		{"https://auth.example.com", true},
		{"http://localhost:8080", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
	} {
		t.Run("RFC8414-2 issuer "+tc.issuer, func(t *testing.T) {
			cfg := config.Default()
			cfg.Issuer = tc.issuer
			err := cfg.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "SESAME_ISSUER") {
				t.Fatalf("error %q does not name SESAME_ISSUER", err)
			}
		})
	}
	t.Run("RFC6797-7.2 no HSTS and no __Host- cookie on an http issuer", func(t *testing.T) {
		s := newServer(t)
		resp, err := plain.Get(s.issuer + "/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Strict-Transport-Security") != "" {
			t.Fatal("HSTS over http")
		}
		if len(resp.Cookies()) == 0 {
			t.Fatal("the login page set no cookie")
		}
		for _, ck := range resp.Cookies() {
			if strings.HasPrefix(ck.Name, "__Host-") || ck.Secure {
				t.Errorf("cookie %s is Secure/__Host- over http: browsers would drop it", ck.Name)
			}
		}
	})
}
