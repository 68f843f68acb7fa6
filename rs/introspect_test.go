package rs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestIntrospectionSingleFlight(t *testing.T) {
	iss := newTestIssuer(t)
	iss.delay = 200 * time.Millisecond
	in := newIntrospector(t, iss, nil) // no cache: only single-flight can merge calls
	tok := iss.issueOpaque(iss.activeOpaque())

	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := in.Authenticate(context.Background(), tok)
			if err != nil || p.Username != "bob" {
				t.Errorf("Authenticate = %+v, %v", p, err)
			}
		}()
	}
	wg.Wait()
	if n := iss.introspections.Load(); n != 1 {
		t.Fatalf("issuer saw %d introspection calls for 20 concurrent requests, want 1", n)
	}
	// Without a cache, the next request asks again.
	if _, err := in.Authenticate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if n := iss.introspections.Load(); n != 2 {
		t.Fatalf("issuer saw %d calls, want 2", n)
	}
}

func TestIntrospectionWaiterCancellationDoesNotFailOthers(t *testing.T) {
	iss := newTestIssuer(t)
	iss.delay = 200 * time.Millisecond
	in := newIntrospector(t, iss, nil)
	tok := iss.issueOpaque(iss.activeOpaque())

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := in.Authenticate(ctx, tok); first <- err }()
	time.Sleep(50 * time.Millisecond)
	second := make(chan error, 1)
	go func() { _, err := in.Authenticate(context.Background(), tok); second <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-first; !errors.Is(err, ErrUnavailable) {
		t.Errorf("cancelled caller: err = %v, want ErrUnavailable", err)
	}
	if err := <-second; err != nil {
		t.Errorf("the other caller must still get the answer: %v", err)
	}
	if n := iss.introspections.Load(); n != 1 {
		t.Errorf("issuer saw %d calls, want 1", n)
	}
}

func TestIntrospectionCacheIsBounded(t *testing.T) {
	iss := newTestIssuer(t)
	in := newIntrospector(t, iss, func(c *IntrospectionConfig) { c.CacheTTL = time.Minute; c.CacheSize = 3 })
	var toks []string
	for range 5 {
		toks = append(toks, iss.issueOpaque(iss.activeOpaque()))
	}
	auth := func(tok string) {
		t.Helper()
		if _, err := in.Authenticate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range toks {
		auth(tok)
	}
	if got := in.cache.len(); got != 3 {
		t.Fatalf("cache holds %d entries, want the bound 3", got)
	}
	if n := iss.introspections.Load(); n != 5 {
		t.Fatalf("issuer saw %d calls, want 5", n)
	}
	auth(toks[4]) // most recent: cached
	auth(toks[2])
	if n := iss.introspections.Load(); n != 5 {
		t.Fatalf("cached tokens cost %d calls, want none", n-5)
	}
	auth(toks[0]) // evicted as least recently used
	if n := iss.introspections.Load(); n != 6 {
		t.Fatalf("evicted token: issuer saw %d calls, want 6", n)
	}
	auth(toks[3]) // evicted by toks[0]'s insertion
	if n := iss.introspections.Load(); n != 7 {
		t.Fatalf("least recently used entry was not the one evicted: %d calls, want 7", n)
	}
}

func TestIntrospectionCacheNeverOutlivesExp(t *testing.T) {
	iss := newTestIssuer(t)
	clk := newClock()
	in := newIntrospector(t, iss, func(c *IntrospectionConfig) { c.CacheTTL = time.Hour; c.Now = clk.Now })
	resp := iss.activeOpaque()
	resp["exp"] = clk.Now().Add(2 * time.Second).Unix()
	tok := iss.issueOpaque(resp)

	steps := []struct {
		advance   time.Duration
		wantCalls int64
	}{
		{0, 1},
		{time.Second, 1},      // cached
		{2 * time.Second, 2},  // past exp: asked again although the TTL is an hour
		{10 * time.Second, 3}, // and never cached again past exp
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		if _, err := in.Authenticate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		if n := iss.introspections.Load(); n != s.wantCalls {
			t.Fatalf("after +%v: issuer saw %d calls, want %d", s.advance, n, s.wantCalls)
		}
	}
}

func TestIntrospectionCacheExpiresAfterTTL(t *testing.T) {
	iss := newTestIssuer(t)
	clk := newClock()
	in := newIntrospector(t, iss, func(c *IntrospectionConfig) { c.CacheTTL = 5 * time.Second; c.Now = clk.Now })
	resp := iss.activeOpaque()
	tok := iss.issueOpaque(resp)
	if _, err := in.Authenticate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	// The issuer revokes; the cache hides it for at most CacheTTL.
	iss.mu.Lock()
	resp["active"] = false
	iss.mu.Unlock()
	clk.Advance(4 * time.Second)
	if _, err := in.Authenticate(context.Background(), tok); err != nil {
		t.Fatalf("within the TTL the cached answer stands: %v", err)
	}
	clk.Advance(2 * time.Second)
	if _, err := in.Authenticate(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("after the TTL the revocation must show: err = %v", err)
	}
}

func TestIntrospectionNegativeResultsAreNotCached(t *testing.T) {
	iss := newTestIssuer(t)
	in := newIntrospector(t, iss, func(c *IntrospectionConfig) { c.CacheTTL = time.Minute })
	for i := range 3 {
		if _, err := in.Authenticate(context.Background(), "bogus"); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("err = %v", err)
		}
		if n := iss.introspections.Load(); n != int64(i+1) {
			t.Fatalf("call %d: issuer saw %d calls", i+1, n)
		}
	}
	if in.cache.len() != 0 {
		t.Fatalf("cache holds %d entries after only inactive answers", in.cache.len())
	}
}

func TestIntrospectionFailuresAreUnavailable(t *testing.T) {
	iss := newTestIssuer(t)
	tok := iss.issueOpaque(iss.activeOpaque())
	tests := []struct {
		name string
		mod  func(*IntrospectionConfig)
	}{
		{"wrong client secret", func(c *IntrospectionConfig) { c.ClientSecret = "nope" }},
		{"endpoint answers 404", func(c *IntrospectionConfig) { c.Endpoint = iss.URL + "/missing" }},
		{"endpoint unreachable", func(c *IntrospectionConfig) { c.Endpoint = "http://127.0.0.1:1/introspect" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := newIntrospector(t, iss, tc.mod)
			_, err := in.Authenticate(context.Background(), tok)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			// Through the middleware: 503, and no challenge telling the
			// client to drop its token.
			res := call(t, Middleware(in)(echo), "Bearer "+tok)
			if res.status != http.StatusServiceUnavailable || res.challenge != "" {
				t.Fatalf("middleware: %d %q, want 503 without challenge", res.status, res.challenge)
			}
		})
	}
}

func TestNewIntrospectorRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     IntrospectionConfig
		wantErr string
	}{
		{"no credentials", IntrospectionConfig{Endpoint: "http://x"}, "ClientID and ClientSecret"},
		{"no endpoint", IntrospectionConfig{ClientID: "a", ClientSecret: "b"}, "Issuer or Endpoint"},
		{"negative TTL", IntrospectionConfig{Endpoint: "http://x", ClientID: "a", ClientSecret: "b", CacheTTL: -1}, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewIntrospector(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestIntrospectionPrincipal(t *testing.T) {
	iss := newTestIssuer(t)
	in := newIntrospector(t, iss, nil)
	resp := iss.activeOpaque()
	resp["aud"] = testAudience // a single string is valid too (RFC 7662 §2.2)
	p, err := in.Authenticate(context.Background(), iss.issueOpaque(resp))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s|%s|%s|%v|%v|%s", "user-456", "cli", "bob", []string{"api:read", "api:admin"}, []string{testAudience}, SourceIntrospection)
	got := fmt.Sprintf("%s|%s|%s|%v|%v|%s", p.Subject, p.ClientID, p.Username, p.Scopes, p.Audience, p.Source)
	if got != want {
		t.Errorf("principal = %s, want %s", got, want)
	}
	if p.Expiry.IsZero() {
		t.Error("expiry not set from exp")
	}
}

// len is the number of entries (only the tests ask).
func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
