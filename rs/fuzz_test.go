package rs

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// decodedParts decodes the three segments of a compact JWS leniently, so
// that two spellings of the same bytes compare equal.
func decodedParts(tok string) [][]byte {
	seg := strings.Split(tok, ".")
	if len(seg) != 3 {
		return nil
	}
	out := make([][]byte, 3)
	for i, s := range seg {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return nil
		}
		out[i] = b
	}
	return out
}

// FuzzVerifierAuthenticate feeds arbitrary strings to the local JWT
// verifier: it must never panic and never accept anything but the very
// tokens the issuer signed (RFC 8725 §2: alg none, algorithm confusion,
// forged or tampered tokens). Under plain `go test` the seeds run as a
// unit test; CI runs it with -fuzz for a bounded time.
func FuzzVerifierAuthenticate(f *testing.F) {
	iss := newTestIssuer(f)
	v, err := NewVerifier(context.Background(), Config{Issuer: iss.URL, Audience: testAudience})
	if err != nil {
		f.Fatal(err)
	}
	genuine := [][][]byte{}
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA} {
		tok := iss.token(alg, nil)
		genuine = append(genuine, decodedParts(tok))
		f.Add(tok)
		seg := strings.Split(tok, ".")
		f.Add(seg[0] + "." + seg[1] + ".")                                                         // signature stripped
		f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + seg[1] + ".") // alg none
		f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"x"}`)) + "." + seg[1] + "." + seg[2])
		f.Add(seg[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + seg[2])
	}
	for _, s := range []string{"", ".", "..", "a.b.c", "Bearer x", "eyJ.eyJ.", strings.Repeat("A", 5000), "\x00.\xff.\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := v.Authenticate(context.Background(), tok)
		if err != nil {
			if p != nil {
				t.Fatalf("a principal together with an error %v", err)
			}
			return
		}
		got := decodedParts(tok)
		for _, g := range genuine {
			if got != nil && bytes.Equal(got[0], g[0]) && bytes.Equal(got[1], g[1]) && bytes.Equal(got[2], g[2]) {
				return
			}
		}
		t.Fatalf("accepted a token the issuer never signed: %q", tok)
	})
}
