package cimd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// docServer serves client metadata documents on loopback; handle maps a
// path to its handler.
func docServer(t *testing.T, handle map[string]http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for p, h := range handle {
		mux.HandleFunc(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func serveJSON(v any, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
}

func validDoc(id string) map[string]any {
	return map[string]any{
		"client_id":     id,
		"client_name":   "Agent",
		"redirect_uris": []string{"http://127.0.0.1:9999/callback"},
		"grant_types":   []string{"authorization_code", "refresh_token"},
	}
}

func loopbackResolver(o Options) *Resolver {
	o.AllowLoopback = true
	return New(o)
}

func TestResolveLoopbackDocument(t *testing.T) {
	var srv *httptest.Server
	srv = docServer(t, map[string]http.HandlerFunc{
		"/client.json": func(w http.ResponseWriter, r *http.Request) {
			serveJSON(validDoc(srv.URL+"/client.json"))(w, r)
		},
	})
	id := srv.URL + "/client.json"
	c, err := loopbackResolver(Options{}).Resolve(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != id || !c.Public || c.TokenEndpointAuthMethod != "none" || c.Name != "Agent" {
		t.Fatalf("client = %+v", c)
	}
	if len(c.RedirectURIs) != 1 || c.RedirectURIs[0] != "http://127.0.0.1:9999/callback" {
		t.Fatalf("redirect uris = %v", c.RedirectURIs)
	}
	if strings.Join(c.Scopes, " ") != strings.Join(DefaultScopes, " ") {
		t.Fatalf("scopes = %v", c.Scopes)
	}
	// Without the test option the very same server is refused: http and
	// loopback both.
	if _, err := New(Options{}).Resolve(context.Background(), id); !errors.Is(err, ErrInvalidClientID) {
		t.Fatalf("http loopback document without AllowLoopback: err = %v", err)
	}
}

// A DNS name that resolves to loopback (or the metadata address) is
// refused after resolution, before any connection.
func TestNameResolvingToInternalAddressIsRefused(t *testing.T) {
	for _, addr := range []string{"127.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "10.1.2.3", "fe80::1"} {
		t.Run(addr, func(t *testing.T) {
			var looked atomic.Int32
			r := New(Options{LookupIP: func(_ context.Context, host string) ([]netip.Addr, error) {
				looked.Add(1)
				if host != "client.example.test" {
					return nil, fmt.Errorf("unexpected host %q", host)
				}
				return []netip.Addr{netip.MustParseAddr(addr)}, nil
			}})
			_, err := r.Resolve(context.Background(), "https://client.example.test/client.json")
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("err = %v, want ErrForbiddenAddress", err)
			}
			if looked.Load() == 0 {
				t.Fatal("the name was never resolved: refused for another reason")
			}
		})
	}
	// One bad address among good ones condemns the name.
	r := New(Options{LookupIP: func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("127.0.0.1")}, nil
	}})
	if _, err := r.Resolve(context.Background(), "https://mixed.example.test/c"); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("mixed answer: err = %v", err)
	}
}

// The dialer's Control is the last check, on the numeric address the
// socket connects to.
func TestDialControlRefusesInternalAddresses(t *testing.T) {
	f := newFetcher(Options{}.withDefaults())
	for _, a := range []string{"127.0.0.1:443", "[::1]:443", "[::ffff:127.0.0.1]:443", "169.254.169.254:80", "[fe80::1%lo]:443", "0.0.0.0:443", "not-an-ip:443"} {
		if err := f.control("tcp", a, nil); err == nil {
			t.Errorf("control allowed %s", a)
		}
	}
	if err := f.control("tcp", "8.8.8.8:443", nil); err != nil {
		t.Errorf("control refused a public address: %v", err)
	}
	// And Control really is on the dial path: a loopback server is not
	// reached when the name check is bypassed by an IP literal dial.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := f.dial(context.Background(), "tcp", ln.Addr().String()); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("dial to loopback: err = %v", err)
	}
}

func TestRedirects(t *testing.T) {
	var srv *httptest.Server
	srv = docServer(t, map[string]http.HandlerFunc{
		"/to-metadata": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		},
		"/to-private-name": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://internal.example.test:"+srv.URL[strings.LastIndex(srv.URL, ":")+1:]+"/ok", http.StatusFound)
		},
		"/loop": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/loop", http.StatusFound)
		},
		"/moved": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/ok", http.StatusMovedPermanently)
		},
		"/ok": func(w http.ResponseWriter, r *http.Request) {
			serveJSON(validDoc(srv.URL+"/moved"))(w, r)
		},
	})
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		if host == "internal.example.test" {
			return []netip.Addr{netip.MustParseAddr("192.168.0.10")}, nil
		}
		return net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
	}
	r := loopbackResolver(Options{LookupIP: lookup})
	for path, want := range map[string]error{
		"/to-metadata":     ErrForbiddenAddress,
		"/to-private-name": ErrForbiddenAddress,
		"/loop":            ErrFetch,
	} {
		if _, err := r.Resolve(context.Background(), srv.URL+path); !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", path, err, want)
		}
	}
	// A redirect within bounds is followed; the document still names the
	// URL it was asked for.
	if _, err := r.Resolve(context.Background(), srv.URL+"/moved"); err != nil {
		t.Errorf("one redirect: %v", err)
	}
	if _, err := loopbackResolver(Options{MaxRedirects: -1}).Resolve(context.Background(), srv.URL+"/moved"); !errors.Is(err, ErrFetch) {
		t.Errorf("redirect with redirects off: err = %v", err)
	}
}

func TestSizeTimeAndTypeLimits(t *testing.T) {
	var srv *httptest.Server
	release := make(chan struct{})
	big := func(w http.ResponseWriter, r *http.Request, chunked bool) {
		d := validDoc(srv.URL + r.URL.Path)
		d["client_name"] = strings.Repeat("x", DefaultMaxDocumentBytes)
		b, _ := json.Marshal(d)
		w.Header().Set("Content-Type", "application/json")
		if chunked {
			w.(http.Flusher).Flush() // no Content-Length
		}
		_, _ = w.Write(b)
	}
	srv = docServer(t, map[string]http.HandlerFunc{
		"/big":         func(w http.ResponseWriter, r *http.Request) { big(w, r, false) },
		"/big-chunked": func(w http.ResponseWriter, r *http.Request) { big(w, r, true) },
		"/slow-headers": func(w http.ResponseWriter, r *http.Request) {
			<-release
		},
		"/slow-body": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"client_id":`))
			w.(http.Flusher).Flush()
			<-release
		},
		"/html": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_ = json.NewEncoder(w).Encode(validDoc(srv.URL + "/html"))
		},
		"/404": http.NotFound,
		"/array": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`[]`))
		},
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	r := loopbackResolver(Options{Timeout: 300 * time.Millisecond})
	for path, want := range map[string]error{
		"/big":          ErrFetch,
		"/big-chunked":  ErrFetch,
		"/slow-headers": ErrFetch,
		"/slow-body":    ErrFetch,
		"/html":         ErrFetch,
		"/404":          ErrFetch,
		"/array":        ErrInvalidDocument,
	} {
		if _, err := r.Resolve(context.Background(), srv.URL+path); !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", path, err, want)
		}
	}
}

func TestDocumentRules(t *testing.T) {
	var srv *httptest.Server
	docs := map[string]func(id string) map[string]any{
		"/other-client-id": func(id string) map[string]any {
			d := validDoc(id)
			d["client_id"] = "https://other.example/c"
			return d
		},
		"/no-client-id":   func(id string) map[string]any { d := validDoc(id); delete(d, "client_id"); return d },
		"/trailing-slash": func(id string) map[string]any { d := validDoc(id); d["client_id"] = id + "/"; return d },
		"/secret":         func(id string) map[string]any { d := validDoc(id); d["client_secret"] = "s3cret"; return d },
		"/basic": func(id string) map[string]any {
			d := validDoc(id)
			d["token_endpoint_auth_method"] = "client_secret_basic"
			return d
		},
		"/pkjwt-no-jwks": func(id string) map[string]any {
			d := validDoc(id)
			d["token_endpoint_auth_method"] = "private_key_jwt"
			return d
		},
		"/inline-jwks": func(id string) map[string]any {
			d := validDoc(id)
			d["jwks"] = map[string]any{"keys": []any{}}
			return d
		},
		"/password":     func(id string) map[string]any { d := validDoc(id); d["grant_types"] = []string{"password"}; return d },
		"/no-redirects": func(id string) map[string]any { d := validDoc(id); delete(d, "redirect_uris"); return d },
		"/js-redirect": func(id string) map[string]any {
			d := validDoc(id)
			d["redirect_uris"] = []string{"javascript:alert(1)"}
			return d
		},
		"/http-redirect": func(id string) map[string]any {
			d := validDoc(id)
			d["redirect_uris"] = []string{"http://evil.example/cb"}
			return d
		},
		"/admin-scope":   func(id string) map[string]any { d := validDoc(id); d["scope"] = "openid sesame:admin"; return d },
		"/jwks-uri-none": func(id string) map[string]any { d := validDoc(id); d["jwks_uri"] = srv.URL + "/jwks"; return d },
	}
	handlers := map[string]http.HandlerFunc{}
	for p, mk := range docs {
		handlers[p] = func(w http.ResponseWriter, r *http.Request) { serveJSON(mk(srv.URL+p))(w, r) }
	}
	srv = docServer(t, handlers)
	r := loopbackResolver(Options{})
	for p := range docs {
		t.Run(strings.TrimPrefix(p, "/"), func(t *testing.T) {
			c, err := r.Resolve(context.Background(), srv.URL+p)
			if !errors.Is(err, ErrInvalidDocument) {
				t.Fatalf("err = %v (client %+v), want ErrInvalidDocument", err, c)
			}
		})
	}
}

func TestPrivateKeyJWTClientGetsItsKeysInline(t *testing.T) {
	const jwks = `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1","use":"sig","alg":"ES256"}]}`
	const private = `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI","kid":"k1"}]}`
	var srv *httptest.Server
	pk := func(path, jwksPath string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			d := validDoc(srv.URL + path)
			d["token_endpoint_auth_method"] = "private_key_jwt"
			d["jwks_uri"] = srv.URL + jwksPath
			serveJSON(d)(w, r)
		}
	}
	raw := func(s string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(s))
		}
	}
	srv = docServer(t, map[string]http.HandlerFunc{
		"/pk": pk("/pk", "/jwks"), "/pk-private": pk("/pk-private", "/private"),
		"/jwks": raw(jwks), "/private": raw(private),
	})
	r := loopbackResolver(Options{})
	c, err := r.Resolve(context.Background(), srv.URL+"/pk")
	if err != nil {
		t.Fatal(err)
	}
	if c.Public || c.TokenEndpointAuthMethod != "private_key_jwt" || c.JWKS != jwks || c.JWKSURI != "" {
		t.Fatalf("client = public %v method %q jwks %q jwks_uri %q", c.Public, c.TokenEndpointAuthMethod, c.JWKS, c.JWKSURI)
	}
	if _, err := r.Resolve(context.Background(), srv.URL+"/pk-private"); !errors.Is(err, ErrInvalidDocument) {
		t.Fatalf("a key set with a private key: err = %v", err)
	}
}

func TestCacheTTLAndBounds(t *testing.T) {
	var hits atomic.Int32
	var srv *httptest.Server
	srv = docServer(t, map[string]http.HandlerFunc{
		"/c": func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			serveJSON(validDoc(srv.URL+"/c"), "Cache-Control", "public, max-age=120")(w, r)
		},
	})
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	r := loopbackResolver(Options{Now: clock, MaxEntries: 3})
	for range 3 {
		if _, err := r.Resolve(context.Background(), srv.URL+"/c"); err != nil {
			t.Fatal(err)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("%d fetches within max-age, want 1", hits.Load())
	}
	advance(121 * time.Second)
	if _, err := r.Resolve(context.Background(), srv.URL+"/c"); err != nil || hits.Load() != 2 {
		t.Fatalf("after max-age: err %v, %d fetches, want 2", err, hits.Load())
	}
	// Failures are remembered too, and the cache never holds more than
	// MaxEntries.
	for i := range 10 {
		_, _ = r.Resolve(context.Background(), fmt.Sprintf("%s/missing-%d", srv.URL, i))
	}
	if n := r.Len(); n > 3 {
		t.Fatalf("cache holds %d entries, cap 3", n)
	}

	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", DefaultTTL},
		{"max-age=120", 120 * time.Second},
		{"public, max-age=5", DefaultMinTTL},
		{"max-age=31536000", DefaultMaxTTL},
		{"max-age=99999999999999999999", DefaultMaxTTL},
		{"no-store", DefaultMinTTL},
		{"max-age=600, no-cache", DefaultMinTTL},
		{"max-age=-1", DefaultTTL},
	} {
		h := http.Header{}
		h.Set("Cache-Control", tc.header)
		if got := r.ttl(h); got != tc.want {
			t.Errorf("Cache-Control %q: ttl %v, want %v", tc.header, got, tc.want)
		}
	}
}

// Concurrent lookups of one URL share one fetch. The clock moves an hour
// per reading, so nothing is ever served from the cache: only collapsing
// can keep the fetch count at one.
func TestConcurrentLookupsShareOneFetch(t *testing.T) {
	var hits, readings atomic.Int64
	gate := make(chan struct{})
	started := make(chan struct{})
	var srv *httptest.Server
	srv = docServer(t, map[string]http.HandlerFunc{
		"/c": func(w http.ResponseWriter, r *http.Request) {
			if hits.Add(1) == 1 {
				close(started)
			}
			<-gate
			serveJSON(validDoc(srv.URL+"/c"))(w, r)
		},
	})
	base := time.Unix(1_700_000_000, 0)
	r := loopbackResolver(Options{Now: func() time.Time { return base.Add(time.Duration(readings.Add(1)) * time.Hour) }})
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	lookup := func() {
		defer wg.Done()
		_, err := r.Resolve(context.Background(), srv.URL+"/c")
		errs <- err
	}
	wg.Add(1)
	go lookup()
	<-started
	before := readings.Load()
	for range n - 1 {
		wg.Add(1)
		go lookup()
	}
	// Each lookup reads the clock once (its cache look) right before it
	// joins the flight.
	for readings.Load() < before+n-1 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if h := hits.Load(); h != 1 {
		t.Fatalf("%d fetches for %d concurrent lookups, want 1", h, n)
	}
}

func TestStoreLeavesRegisteredClientsAlone(t *testing.T) {
	s := Wrap(nil, New(Options{}))
	if s.r.Handles("demo-client") || s.r.Handles("abc_DEF.1~x") {
		t.Fatal("a registered client id is taken for a URL")
	}
	if !s.r.Handles("https://client.example/c") || s.r.Handles("http://client.example/c") {
		t.Fatal("Handles: wrong answer for URL ids")
	}
	var _ storage.Store = s
}
