package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sesameauth/sesame/storage"
)

func TestNewGeneratesOneActiveKeyPerAlgorithm(t *testing.T) {
	ctx := context.Background()
	st := newSQLite(t)
	algs := []string{RS256, ES256, EdDSA}
	m := newManager(t, st, testRing(t, 1), Options{Algorithms: algs})

	infos, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != len(algs) {
		t.Fatalf("first start stored %d keys, want %d: %+v", len(infos), len(algs), infos)
	}
	for _, alg := range algs {
		k, err := m.Active(ctx, alg)
		if err != nil {
			t.Fatalf("Active(%s): %v", alg, err)
		}
		if k.Alg != alg || k.State != storage.KeyActive {
			t.Errorf("Active(%s) = alg %s state %s", alg, k.Alg, k.State)
		}
		if k.Public.KeyID != k.KID || k.Public.Algorithm != alg || k.Public.Use != "sig" || !k.Public.IsPublic() {
			t.Errorf("Active(%s).Public = kid %q alg %q use %q public %v", alg, k.Public.KeyID, k.Public.Algorithm, k.Public.Use, k.Public.IsPublic())
		}
		// The kid is the RFC 7638 thumbprint of the public key.
		tp, err := k.Public.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if want := base64.RawURLEncoding.EncodeToString(tp); k.KID != want {
			t.Errorf("%s kid %s is not the thumbprint %s", alg, k.KID, want)
		}
	}
	for _, in := range infos {
		if in.State != string(storage.KeyActive) || in.ActivatedAt == nil || in.RetiredAt != nil {
			t.Errorf("key %s (%s) after first start: %+v", in.KID, in.Alg, in)
		}
	}
	switch k, _ := m.Active(ctx, RS256); k.Signer.(type) {
	case *rsa.PrivateKey:
		if bits := k.Signer.(*rsa.PrivateKey).N.BitLen(); bits != 2048 {
			t.Errorf("RS256 key has %d bits, want the 2048 default", bits)
		}
	default:
		t.Errorf("RS256 signer is %T", k.Signer)
	}
	if k, _ := m.Active(ctx, ES256); !isType[*ecdsa.PrivateKey](k.Signer) {
		t.Errorf("ES256 signer is %T", k.Signer)
	}
	if k, _ := m.Active(ctx, EdDSA); !isType[ed25519.PrivateKey](k.Signer) {
		t.Errorf("EdDSA signer is %T", k.Signer)
	}
}

func isType[T any](v any) bool { _, ok := v.(T); return ok }

func TestSecondManagerLoadsTheSameKeys(t *testing.T) {
	forEachBackend(t, testSecondManagerLoadsTheSameKeys)
}

func testSecondManagerLoadsTheSameKeys(t *testing.T, open storeFactory) {
	ctx := context.Background()
	st := open(t)
	ring := testRing(t, 1)
	opts := Options{Algorithms: []string{ES256, EdDSA}}
	m1 := newManager(t, st, ring, opts)
	m2 := newManager(t, st, ring, opts)

	l1, err := m1.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := m2.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l2) != 2 {
		t.Fatalf("second start created keys: %d stored, want 2", len(l2))
	}
	for i := range l1 {
		if l1[i].KID != l2[i].KID || l1[i].State != l2[i].State {
			t.Errorf("key %d differs: %+v vs %+v", i, l1[i], l2[i])
		}
	}
	for _, alg := range opts.Algorithms {
		k1, _ := m1.Active(ctx, alg)
		k2, _ := m2.Active(ctx, alg)
		if k1.KID != k2.KID {
			t.Errorf("%s: managers disagree on the active key: %s vs %s", alg, k1.KID, k2.KID)
		}
		// A token signed by one instance verifies on the other.
		tok := signWith(t, k1, []byte(`{"sub":"x"}`))
		if _, err := verifyViaLookup(ctx, m2, tok); err != nil {
			t.Errorf("%s: token from instance 1 does not verify on instance 2: %v", alg, err)
		}
	}
	b1, e1, _ := m1.JWKS(ctx)
	b2, e2, _ := m2.JWKS(ctx)
	if string(b1) != string(b2) || e1 != e2 {
		t.Errorf("instances publish different JWKS: %s %s", e1, e2)
	}
}

func TestConcurrentFirstStartCreatesOneKeyPerAlgorithm(t *testing.T) {
	forEachBackend(t, testConcurrentFirstStartCreatesOneKeyPerAlgorithm)
}

func testConcurrentFirstStartCreatesOneKeyPerAlgorithm(t *testing.T, open storeFactory) {
	st := open(t)
	ring := testRing(t, 1)
	opts := Options{Algorithms: []string{ES256, EdDSA}, Logger: quietLogger()}
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := New(context.Background(), st, ring, opts)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent New: %v", err)
		}
	}
	for _, alg := range opts.Algorithms {
		got := byState(t, st, alg)
		if got[storage.KeyActive] != 1 || got[storage.KeyPending] != 0 || got[storage.KeyRetired] != 0 {
			t.Errorf("%s after %d concurrent first starts: %v, want exactly one active key", alg, n, got)
		}
	}
}

func TestAllAlgorithmsSignAndVerify(t *testing.T) {
	for _, alg := range Supported() {
		t.Run(alg, func(t *testing.T) {
			ctx := context.Background()
			m := newManager(t, newSQLite(t), testRing(t, 1), Options{Algorithms: []string{alg}})
			k, err := m.Active(ctx, alg)
			if err != nil {
				t.Fatal(err)
			}
			payload := []byte(`{"iss":"https://sesame.test","sub":"u1"}`)
			tok := signWith(t, k, payload)

			got, err := verifyViaLookup(ctx, m, tok)
			if err != nil {
				t.Fatalf("verify via Lookup: %v", err)
			}
			if string(got) != string(payload) {
				t.Errorf("payload = %s", got)
			}
			obj, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatalf("token header alg is not %s: %v", alg, err)
			}
			// A relying party verifies with the published JWKS only.
			body, _, _ := m.JWKS(ctx)
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(body, &set); err != nil {
				t.Fatal(err)
			}
			pub := set.Key(k.KID)
			if len(pub) != 1 {
				t.Fatalf("JWKS has %d keys with kid %s", len(pub), k.KID)
			}
			if _, err := obj.Verify(pub[0]); err != nil {
				t.Errorf("verify with the published JWK: %v", err)
			}
			// A tampered payload does not verify.
			parts := strings.Split(tok, ".")
			parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`))
			if _, err := verifyViaLookup(ctx, m, strings.Join(parts, ".")); err == nil {
				t.Error("tampered token verified")
			}
		})
	}
}

func TestJWKSHasOnlyPublicMembersAndAStableETag(t *testing.T) {
	ctx := context.Background()
	st := newSQLite(t)
	m := newManager(t, st, testRing(t, 1), Options{Algorithms: Supported()})

	body, etag, err := m.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("JWKS is not JSON: %v", err)
	}
	if len(doc.Keys) != 4 {
		t.Fatalf("JWKS has %d keys, want 4", len(doc.Keys))
	}
	for _, k := range doc.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS key %v has private member %q", k["kid"], private)
			}
		}
		if k["use"] != "sig" || k["kid"] == "" || !IsSupported(k["alg"].(string)) {
			t.Errorf("JWKS key lacks use/kid/alg: %v", k)
		}
	}
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || strings.HasPrefix(etag, "W/") || len(etag) < 10 {
		t.Errorf("ETag %s is not a quoted strong validator", etag)
	}

	// Reloading an unchanged set keeps the very same bytes and ETag.
	if err := m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	body2, etag2, _ := m.JWKS(ctx)
	if etag2 != etag || &body2[0] != &body[0] {
		t.Errorf("JWKS rebuilt although the key set did not change (etag %s → %s)", etag, etag2)
	}

	// A rotation adds a key: new ETag, old and new kid published.
	old, _ := m.Active(ctx, ES256)
	info, err := m.Rotate(ctx, ES256)
	if err != nil {
		t.Fatal(err)
	}
	body3, etag3, _ := m.JWKS(ctx)
	if etag3 == etag {
		t.Error("ETag unchanged after a rotation added a key")
	}
	kids := kidsOf(t, body3)
	if !kids[old.KID] || !kids[info.KID] || len(kids) != 5 {
		t.Errorf("JWKS after rotation has %v, want the 4 first keys plus %s", kids, info.KID)
	}
}

func TestActiveAndRotateRejectAlgorithmsNotInUse(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, newSQLite(t), testRing(t, 1), Options{Algorithms: []string{ES256}})
	tests := []struct {
		name string
		alg  string
		want error
	}{
		{"supported but not configured", PS256, ErrAlgorithmNotInUse},
		{"symmetric algorithm", "HS256", ErrUnsupportedAlgorithm},
		{"none", "none", ErrUnsupportedAlgorithm},
		{"empty", "", ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := m.Active(ctx, tt.alg); !errors.Is(err, tt.want) {
				t.Errorf("Active(%q) error = %v, want %v", tt.alg, err, tt.want)
			}
			if _, err := m.Rotate(ctx, tt.alg); !errors.Is(err, tt.want) {
				t.Errorf("Rotate(%q) error = %v, want %v", tt.alg, err, tt.want)
			}
		})
	}
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"no algorithms", Options{}, "Algorithms is empty"},
		{"unsupported algorithm", Options{Algorithms: []string{"HS256"}}, `"HS256"`},
		{"duplicate algorithm", Options{Algorithms: []string{ES256, ES256}}, "listed twice"},
		{"RSA key too small", Options{Algorithms: []string{RS256}, RSABits: 1024}, "RSABits"},
		{"negative rotation interval", Options{Algorithms: []string{ES256}, RotationInterval: -time.Hour}, "RotationInterval"},
		{"negative publish lead", Options{Algorithms: []string{ES256}, PublishLead: -time.Hour}, "PublishLead"},
		{"negative retention", Options{Algorithms: []string{ES256}, RetainAfterRetire: -time.Hour}, "RetainAfterRetire"},
		{"negative refresh interval", Options{Algorithms: []string{ES256}, RefreshInterval: -time.Second}, "RefreshInterval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), newSQLite(t), testRing(t, 1), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New error = %v, want one mentioning %s", err, tt.wantErr)
			}
		})
	}
	t.Run("defaults and publish lead cap", func(t *testing.T) {
		o, err := Options{Algorithms: []string{ES256}, RotationInterval: 10 * time.Hour}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if o.PublishLead != 5*time.Hour {
			t.Errorf("PublishLead = %s, want it capped at RotationInterval/2 = 5h", o.PublishLead)
		}
		if o.RSABits != 2048 || o.RetainAfterRetire != DefaultRetainAfterRetire || o.RefreshInterval != DefaultRefreshInterval || o.Now == nil || o.Logger == nil {
			t.Errorf("defaults not applied: %+v", o)
		}
	})
	t.Run("nil store or keyring", func(t *testing.T) {
		if _, err := New(context.Background(), nil, testRing(t, 1), Options{Algorithms: []string{ES256}}); err == nil {
			t.Error("nil store accepted")
		}
		if _, err := New(context.Background(), newSQLite(t), nil, Options{Algorithms: []string{ES256}}); err == nil {
			t.Error("nil keyring accepted")
		}
	})
}

func TestInfoJSONFieldNames(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, newSQLite(t), testRing(t, 1), Options{Algorithms: []string{EdDSA}})
	infos, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(infos[0])
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// An active key has no retired_at/retire_after: omitted, not null.
	want := []string{"activated_at", "alg", "created_at", "kid", "state"}
	if !slices.Equal(keys, want) {
		t.Errorf("Info JSON fields = %v, want %v (%s)", keys, want, b)
	}
}
