package integration

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/oauth"
	"github.com/sesameauth/sesame/rs"
)

func newVerifier(t testing.TB, s *sesame) *rs.Verifier {
	t.Helper()
	v, err := rs.NewVerifier(context.Background(), rs.Config{Issuer: s.URL, Audience: audience, HTTPClient: s.httpClient})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func newIntrospector(t testing.TB, s *sesame, id, sec string) *rs.Introspector {
	t.Helper()
	in, err := rs.NewIntrospector(context.Background(), rs.IntrospectionConfig{
		Issuer: s.URL, ClientID: id, ClientSecret: sec, Audience: audience, HTTPClient: s.httpClient,
	})
	if err != nil {
		t.Fatalf("NewIntrospector: %v", err)
	}
	return in
}

func TestJWTFromClientCredentialsVerifiedLocally(t *testing.T) {
	s := startSesame(t)
	sec := s.client("batch-job", oauth.FormatJWT, "api:read", "api:admin")
	v := newVerifier(t, s)
	p, err := v.Authenticate(context.Background(), s.token("batch-job", sec, "api:read"))
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if p.Source != rs.SourceJWT || p.Subject != "batch-job" || p.ClientID != "batch-job" {
		t.Errorf("principal = %+v", p)
	}
	if !p.HasScope("api:read") || p.HasScope("api:admin") {
		t.Errorf("scopes = %v, want only the requested api:read", p.Scopes)
	}
	if !slices.Contains(p.Audience, audience) {
		t.Errorf("audience = %v", p.Audience)
	}
}

func TestOpaqueTokenIntrospected(t *testing.T) {
	s := startSesame(t)
	sec := s.client("legacy-app", oauth.FormatOpaque, "api:read")
	rsSec := s.client("orders-api", "", oauth.ScopeIntrospect)
	tok := s.token("legacy-app", sec, "api:read")
	if rs.LooksLikeJWT(tok) {
		t.Fatalf("opaque client got a JWT")
	}

	auth := rs.NewAuthenticator(newVerifier(t, s), newIntrospector(t, s, "orders-api", rsSec))
	p, err := auth.Authenticate(context.Background(), tok)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if p.Source != rs.SourceIntrospection || p.ClientID != "legacy-app" || !p.HasScope("api:read") || p.Expiry.IsZero() {
		t.Errorf("principal = %+v", p)
	}

	// Without sesame:introspect, another client's token is inactive
	// (SPEC "Introspection policy").
	plainSec := s.client("nosy-api", "")
	_, err = newIntrospector(t, s, "nosy-api", plainSec).Authenticate(context.Background(), tok)
	if !errors.Is(err, rs.ErrInvalidToken) {
		t.Errorf("introspection without sesame:introspect: err = %v, want ErrInvalidToken", err)
	}
}

func TestRevokedJWTRejectedByIntrospection(t *testing.T) {
	s := startSesame(t)
	sec := s.client("batch-job", oauth.FormatJWT, "api:read")
	rsSec := s.client("orders-api", "", oauth.ScopeIntrospect)
	tok := s.token("batch-job", sec, "api:read")
	local := newVerifier(t, s)
	remote := newIntrospector(t, s, "orders-api", rsSec)
	ctx := context.Background()

	if p, err := remote.Authenticate(ctx, tok); err != nil || p.Source != rs.SourceIntrospection {
		t.Fatalf("before revocation: %+v, %v", p, err)
	}
	if status, body := s.post(oauth.PathRevoke, url.Values{"token": {tok}}, "batch-job", sec); status != http.StatusOK {
		t.Fatalf("revoke: %d %v", status, body)
	}
	if _, err := remote.Authenticate(ctx, tok); !errors.Is(err, rs.ErrInvalidToken) {
		t.Errorf("introspection after revocation: err = %v, want ErrInvalidToken", err)
	}
	// Local verification cannot see it: the token stays valid until exp,
	// which is why JWT lifetimes are short (docs/tokens.md).
	if _, err := local.Authenticate(ctx, tok); err != nil {
		t.Errorf("local verification after revocation: %v (expected to still pass)", err)
	}
}

func TestKeyRotationPickedUp(t *testing.T) {
	s := startSesame(t)
	sec := s.client("batch-job", oauth.FormatJWT, "api:read")
	v := newVerifier(t, s)
	ctx := context.Background()
	before := s.token("batch-job", sec, "api:read")
	if _, err := v.Authenticate(ctx, before); err != nil {
		t.Fatalf("before rotation: %v", err)
	}
	fetches := s.jwksFetches.Load()

	if _, err := s.keys.Rotate(ctx, keys.ES256); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	after := s.token("batch-job", sec, "api:read")
	if _, err := v.Authenticate(ctx, after); err != nil {
		t.Fatalf("token signed with the rotated-in key: %v", err)
	}
	if got := s.jwksFetches.Load() - fetches; got != 1 {
		t.Errorf("JWKS fetched %d times for the rotation, want 1", got)
	}
	// The retired key stays published, so tokens it signed still verify.
	if _, err := v.Authenticate(ctx, before); err != nil {
		t.Errorf("token signed with the retired key: %v", err)
	}
}

func TestWrongIntrospectionCredentialsAreUnavailable(t *testing.T) {
	s := startSesame(t)
	s.client("orders-api", "", oauth.ScopeIntrospect)
	in := newIntrospector(t, s, "orders-api", "wrong-secret")
	_, err := in.Authenticate(context.Background(), "anything")
	if !errors.Is(err, rs.ErrUnavailable) {
		t.Fatalf("wrong resource-server secret: err = %v, want ErrUnavailable", err)
	}
}
