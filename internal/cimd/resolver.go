package cimd

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/sesameauth/sesame/storage"
)

// Defaults of Options.
const (
	DefaultTimeout          = 5 * time.Second // SPEC: 5 s
	DefaultMaxDocumentBytes = 5 << 10         // draft §6.5 suggests 5 KiB
	DefaultMaxJWKSBytes     = 16 << 10        // room for a few RSA keys
	DefaultMaxRedirects     = 3
	DefaultMinTTL           = 30 * time.Second
	DefaultMaxTTL           = time.Hour // the ceiling: a changed document shows within an hour
	DefaultTTL              = 5 * time.Minute
	DefaultFailureTTL       = 10 * time.Second
	DefaultMaxEntries       = 1000
)

// Options configure a Resolver. Zero values get the defaults above.
type Options struct {
	// AllowLoopback lets fetches use http and reach loopback addresses
	// (only loopback: private and link-local stay refused). For tests
	// only; no setting turns it on.
	AllowLoopback bool
	// RootCAs verifies servers instead of the system pool (tests).
	RootCAs *x509.CertPool
	// LookupIP resolves host names (tests inject answers); default the
	// system resolver.
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)

	Timeout          time.Duration // one fetch, redirects and body included
	MaxDocumentBytes int64
	MaxJWKSBytes     int64
	MaxRedirects     int           // negative: none followed
	MinTTL, MaxTTL   time.Duration // bounds on Cache-Control max-age
	DefaultTTL       time.Duration // without a max-age
	FailureTTL       time.Duration // how long a failure is remembered
	MaxEntries       int

	Now    func() time.Time
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.Timeout, DefaultTimeout)
	def(&o.MinTTL, DefaultMinTTL)
	def(&o.MaxTTL, DefaultMaxTTL)
	def(&o.DefaultTTL, DefaultTTL)
	def(&o.FailureTTL, DefaultFailureTTL)
	if o.MaxDocumentBytes <= 0 {
		o.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	if o.MaxJWKSBytes <= 0 {
		o.MaxJWKSBytes = DefaultMaxJWKSBytes
	}
	switch {
	case o.MaxRedirects == 0:
		o.MaxRedirects = DefaultMaxRedirects
	case o.MaxRedirects < 0:
		o.MaxRedirects = 0
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.LookupIP == nil {
		o.LookupIP = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Resolver turns URL client ids into clients, with a bounded cache.
type Resolver struct {
	opts Options
	f    *fetcher
	sf   singleflight.Group

	mu sync.Mutex
	m  map[string]entry
}

type entry struct {
	r   resolved
	err error
	exp time.Time
}

// New returns a resolver.
func New(o Options) *Resolver {
	o = o.withDefaults()
	return &Resolver{opts: o, f: newFetcher(o), m: map[string]entry{}}
}

// Handles reports whether id is one this resolver resolves: an https URL
// (or an http one when loopback is allowed, for tests). A prefix test, so
// registered clients pay nothing.
func (r *Resolver) Handles(id string) bool {
	return LooksLikeClientID(id) || (r.opts.AllowLoopback && strings.HasPrefix(id, "http://"))
}

// Resolve returns the client that the document at id describes, from the
// cache or by fetching it. Concurrent calls for one id share one fetch;
// a caller whose ctx ends stops waiting, the fetch goes on for the others.
func (r *Resolver) Resolve(ctx context.Context, id string) (storage.Client, error) {
	res, err := r.resolve(ctx, id)
	return res.client, err
}

func (r *Resolver) resolve(ctx context.Context, id string) (resolved, error) {
	if e, ok := r.cached(id); ok {
		return e.r, e.err
	}
	ch := r.sf.DoChan(id, func() (any, error) {
		// Another flight may have filled the cache since our look.
		if e, ok := r.cached(id); ok {
			return e, nil
		}
		fctx := context.WithoutCancel(ctx)
		res, ttl, err := r.fetch(fctx, id)
		e := entry{r: res, err: err}
		if err != nil {
			ttl = r.opts.FailureTTL
			r.opts.Logger.WarnContext(ctx, "cimd: client metadata document refused", "client_id", truncate(id), "err", err)
		}
		e.exp = r.opts.Now().Add(ttl)
		r.store(id, e)
		return e, nil
	})
	select {
	case <-ctx.Done():
		return resolved{}, ctx.Err()
	case out := <-ch:
		e := out.Val.(entry)
		return e.r, e.err
	}
}

func (r *Resolver) fetch(ctx context.Context, id string) (resolved, time.Duration, error) {
	if _, err := parseFetchURL(id, r.opts.AllowLoopback, r.opts.AllowLoopback); err != nil {
		return resolved{}, 0, err
	}
	body, hdr, err := r.f.get(ctx, id, r.opts.MaxDocumentBytes)
	if err != nil {
		return resolved{}, 0, err
	}
	res, err := parseDocument(ctx, id, body, r.fetchJWKS)
	if err != nil {
		return resolved{}, 0, err
	}
	return res, r.ttl(hdr), nil
}

// fetchJWKS gets a private_key_jwt client's key set under the same rules
// as its document; app.ValidateClient then checks it holds public keys.
func (r *Resolver) fetchJWKS(ctx context.Context, uri string) (string, error) {
	if _, err := parseFetchURL(uri, r.opts.AllowLoopback, r.opts.AllowLoopback); err != nil {
		return "", err
	}
	body, _, err := r.f.get(ctx, uri, r.opts.MaxJWKSBytes)
	if err != nil {
		return "", err
	}
	return string(body), nil
}

// ttl is the response's Cache-Control max-age bounded by MinTTL and
// MaxTTL; no-store and no-cache give MinTTL (the document is still needed
// for the token request that follows the authorization).
func (r *Resolver) ttl(h http.Header) time.Duration {
	ttl := r.opts.DefaultTTL
	for _, d := range strings.Split(h.Get("Cache-Control"), ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-store" || d == "no-cache":
			return r.opts.MinTTL
		case strings.HasPrefix(d, "max-age="):
			n, err := strconv.ParseUint(strings.Trim(d[len("max-age="):], `"`), 10, 64)
			switch {
			case errors.Is(err, strconv.ErrRange):
				ttl = r.opts.MaxTTL
			case err == nil:
				ttl = time.Duration(min(n, uint64(r.opts.MaxTTL/time.Second)+1)) * time.Second
			}
		}
	}
	return min(max(ttl, r.opts.MinTTL), r.opts.MaxTTL)
}

func (r *Resolver) cached(id string) (entry, bool) {
	now := r.opts.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[id]
	if !ok || !now.Before(e.exp) {
		return entry{}, false
	}
	return e, true
}

// store keeps e, making room when full: expired entries first, else one
// arbitrary entry, so a flood of new URLs cannot flush the cache at once
// nor grow it.
func (r *Resolver) store(id string, e entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.m[id]; !ok && len(r.m) >= r.opts.MaxEntries {
		now := r.opts.Now()
		for k, v := range r.m {
			if !now.Before(v.exp) {
				delete(r.m, k)
			}
		}
		for k := range r.m {
			if len(r.m) < r.opts.MaxEntries {
				break
			}
			delete(r.m, k)
		}
	}
	r.m[id] = e
}

// Len is the number of cached entries (tests, metrics).
func (r *Resolver) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}
