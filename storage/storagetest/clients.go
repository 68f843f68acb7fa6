package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// clientJSON names the Client fields holding JSON documents.
var clientJSON = []string{"JWKS", "Metadata"}

// fullClient returns a client with every field set to a distinct value.
func fullClient(id string) storage.Client {
	return storage.Client{
		ID:                       id,
		SecretHash:               "hash-current-" + id,
		RotatedSecretHashes:      []string{"hash-old-1", "hash-old-2"},
		Name:                     "Client " + id,
		Description:              "A client with every field set",
		RedirectURIs:             []string{"https://app.test/cb", "https://app.test/cb2?x=1", "http://127.0.0.1:8080/cb"},
		PostLogoutRedirectURIs:   []string{"https://app.test/bye"},
		GrantTypes:               []string{"authorization_code", "refresh_token", "client_credentials"},
		ResponseTypes:            []string{"code"},
		Scopes:                   []string{"openid", "profile", "email", "offline_access"},
		Audience:                 []string{"https://api.test", "https://api2.test"},
		TokenEndpointAuthMethod:  "private_key_jwt",
		Public:                   false,
		SkipConsent:              true,
		RequireMFA:               true,
		AccessTokenFormat:        "jwt",
		AllowedCORSOrigins:       []string{"https://app.test"},
		LogoURI:                  "https://app.test/logo.png",
		ClientURI:                "https://app.test",
		PolicyURI:                "https://app.test/policy",
		TermsURI:                 "https://app.test/terms",
		Contacts:                 []string{"ops@app.test", "sec@app.test"},
		JWKS:                     `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1"}]}`,
		JWKSURI:                  "https://app.test/jwks.json",
		IDTokenSignedResponseAlg: "ES256",
		Lifespans: storage.ClientLifespans{
			AccessToken:  10 * time.Minute,
			RefreshToken: 720 * time.Hour,
			IDToken:      time.Hour,
			AuthCode:     90 * time.Second,
		},
		RegistrationTokenHash:              "reg-hash-" + id,
		Metadata:                           `{"software_id":"sw-1","software_version":"2.0","extra":{"n":1,"list":[true,null]}}`,
		RequirePushedAuthorizationRequests: true,
		TokenExchangeAudiences:             []string{"https://api.test", "urn:backend"},
		CreatedAt:                          base.In(zone),
		UpdatedAt:                          at(time.Minute),
	}
}

// minimalClient is a public client with nothing optional set: every slice nil.
func minimalClient(id string) storage.Client {
	return storage.Client{
		ID: id, Name: "Minimal " + id, TokenEndpointAuthMethod: "none", Public: true,
		CreatedAt: base, UpdatedAt: base,
	}
}

func clientIDs(cs []storage.Client) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func testClients(t *testing.T, h Harness) {
	t.Run("round trip", func(t *testing.T) {
		empty := minimalClient("c-empty")
		for _, p := range []*[]string{&empty.RotatedSecretHashes, &empty.RedirectURIs, &empty.PostLogoutRedirectURIs,
			&empty.GrantTypes, &empty.ResponseTypes, &empty.Scopes, &empty.Audience, &empty.AllowedCORSOrigins, &empty.Contacts,
			&empty.TokenExchangeAudiences} {
			*p = []string{}
		}
		cases := []struct {
			name string
			c    storage.Client
		}{
			{"every field set", fullClient("c-full")},
			{"nil slices read back empty", minimalClient("c-nil")},
			{"empty slices read back empty", empty},
		}
		s, ctx := h.New(t), t.Context()
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ok(t, s.CreateClient(ctx, c.c), "CreateClient")
				got, err := s.GetClient(ctx, c.c.ID)
				ok(t, err, "GetClient")
				checkRecord(t, "GetClient", c.c, got, clientJSON...)
			})
		}
	})

	t.Run("duplicate id conflicts and keeps the first", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		first := fullClient("c-1")
		ok(t, s.CreateClient(ctx, first), "CreateClient")
		second := minimalClient("c-1")
		wantErr(t, s.CreateClient(ctx, second), storage.ErrConflict, "second CreateClient")
		got, err := s.GetClient(ctx, "c-1")
		ok(t, err, "GetClient")
		checkRecord(t, "client after the refused create", first, got, clientJSON...)
	})

	t.Run("update replaces every field but id and created_at", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		orig := fullClient("c-1")
		ok(t, s.CreateClient(ctx, orig), "CreateClient")
		upd := storage.Client{
			ID: "c-1", SecretHash: "", RotatedSecretHashes: nil, Name: "Renamed", Description: "",
			RedirectURIs: []string{"https://new.test/cb"}, GrantTypes: []string{"authorization_code"},
			ResponseTypes: []string{"code"}, Scopes: []string{"openid"}, TokenEndpointAuthMethod: "none",
			Public: true, SkipConsent: false, AccessTokenFormat: "opaque", Contacts: []string{"new@new.test"},
			JWKS: "", JWKSURI: "", IDTokenSignedResponseAlg: "RS256",
			Lifespans: storage.ClientLifespans{AccessToken: 5 * time.Minute},
			Metadata:  `{"software_id":"sw-2"}`, CreatedAt: at(50 * time.Hour), UpdatedAt: at(time.Hour),
			TokenExchangeAudiences: []string{"urn:other"},
		}
		ok(t, s.UpdateClient(ctx, upd), "UpdateClient")
		got, err := s.GetClient(ctx, "c-1")
		ok(t, err, "GetClient")
		want := upd
		want.CreatedAt = orig.CreatedAt
		checkRecord(t, "updated client", want, got, clientJSON...)
	})

	t.Run("missing client is not found", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		_, err := s.GetClient(ctx, "c-nope")
		wantErr(t, err, storage.ErrNotFound, "GetClient")
		wantErr(t, s.UpdateClient(ctx, fullClient("c-nope")), storage.ErrNotFound, "UpdateClient")
		wantErr(t, s.DeleteClient(ctx, "c-nope"), storage.ErrNotFound, "DeleteClient")
		wantErr(t, s.RotateClientSecret(ctx, "c-nope", "", "new", false, base), storage.ErrNotFound, "RotateClientSecret")
	})

	t.Run("delete removes only that client", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateClient(ctx, fullClient("c-1")), "CreateClient c-1")
		ok(t, s.CreateClient(ctx, fullClient("c-2")), "CreateClient c-2")
		ok(t, s.DeleteClient(ctx, "c-1"), "DeleteClient")
		_, err := s.GetClient(ctx, "c-1")
		wantErr(t, err, storage.ErrNotFound, "GetClient after delete")
		wantErr(t, s.DeleteClient(ctx, "c-1"), storage.ErrNotFound, "second DeleteClient")
		_, err = s.GetClient(ctx, "c-2")
		ok(t, err, "GetClient of the other client")
	})

	t.Run("list pages in id order and filters on name", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		names := map[string]string{"c-3": "Gamma", "c-1": "Alpha App", "c-5": "beta_tool", "c-2": "MY APP", "c-4": "Delta"}
		for _, id := range []string{"c-3", "c-1", "c-5", "c-2", "c-4"} {
			c := minimalClient(id)
			c.Name = names[id]
			ok(t, s.CreateClient(ctx, c), "CreateClient "+id)
		}
		pages := pageThrough(t, "ListClients limit 2", 6, func(cur string) (page, error) {
			cs, next, err := s.ListClients(ctx, storage.ListOptions{Limit: 2, Cursor: cur})
			return page{clientIDs(cs), next}, err
		})
		checkPages(t, "ListClients limit 2", pages, []int{2, 2, 1}, []string{"c-1", "c-2", "c-3", "c-4", "c-5"})

		cases := []struct {
			name, query string
			want        []string
		}{
			{"name in another case", "app", []string{"c-1", "c-2"}},
			{"underscore is literal", "_", []string{"c-5"}},
			{"percent is literal", "%", nil},
			{"no match", "zzz", nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				cs, _, err := s.ListClients(ctx, storage.ListOptions{Query: c.query})
				ok(t, err, "ListClients")
				orderedEqual(t, "ListClients query "+c.query, clientIDs(cs), c.want)
			})
		}
	})

	t.Run("rotate secret is a compare-and-swap", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		c := fullClient("c-1")
		c.SecretHash, c.RotatedSecretHashes = "h1", []string{"h0"}
		ok(t, s.CreateClient(ctx, c), "CreateClient")
		get := func() storage.Client {
			t.Helper()
			got, err := s.GetClient(ctx, "c-1")
			ok(t, err, "GetClient")
			return got
		}

		wantErr(t, s.RotateClientSecret(ctx, "c-1", "wrong", "h2", true, at(time.Hour)), storage.ErrConflict,
			"RotateClientSecret from a wrong old hash")
		if got := get(); got.SecretHash != "h1" || !slices.Equal(got.RotatedSecretHashes, []string{"h0"}) {
			t.Errorf("after the refused rotation: secret %q rotated %q, want h1 [h0]", got.SecretHash, got.RotatedSecretHashes)
		}

		ok(t, s.RotateClientSecret(ctx, "c-1", "h1", "h2", true, at(time.Hour)), "RotateClientSecret h1→h2 keeping the old")
		if got := get(); got.SecretHash != "h2" || !slices.Equal(got.RotatedSecretHashes, []string{"h0", "h1"}) {
			t.Errorf("after keepOld rotation: secret %q rotated %q, want h2 [h0 h1]", got.SecretHash, got.RotatedSecretHashes)
		}

		wantErr(t, s.RotateClientSecret(ctx, "c-1", "h1", "h9", true, at(2*time.Hour)), storage.ErrConflict,
			"RotateClientSecret replaying the old hash")

		ok(t, s.RotateClientSecret(ctx, "c-1", "h2", "h3", false, at(2*time.Hour)), "RotateClientSecret h2→h3 dropping the old")
		got := get()
		if got.SecretHash != "h3" || slices.Contains(got.RotatedSecretHashes, "h2") {
			t.Errorf("after rotation without keepOld: secret %q rotated %q, want h3 and h2 not kept", got.SecretHash, got.RotatedSecretHashes)
		}
		// Nothing else about the client moved.
		want := c
		want.SecretHash, want.RotatedSecretHashes, want.UpdatedAt = got.SecretHash, got.RotatedSecretHashes, got.UpdatedAt
		checkRecord(t, "client after rotations", want, got, clientJSON...)
	})

	t.Run("rotate from no secret", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateClient(ctx, minimalClient("c-1")), "CreateClient")
		ok(t, s.RotateClientSecret(ctx, "c-1", "", "h1", false, base), "RotateClientSecret from the empty hash")
		got, err := s.GetClient(ctx, "c-1")
		ok(t, err, "GetClient")
		if got.SecretHash != "h1" {
			t.Errorf("secret = %q, want h1", got.SecretHash)
		}
	})

	t.Run("concurrent rotations from the same secret: exactly one wins", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		c := fullClient("c-1")
		c.SecretHash, c.RotatedSecretHashes = "h1", nil
		ok(t, s.CreateClient(ctx, c), "CreateClient")
		news := []string{"h2-a", "h2-b"}
		errs := contend(2, func(i int) error {
			return s.RotateClientSecret(ctx, "c-1", "h1", news[i], true, base)
		})
		w := oneWinner(t, errs, storage.ErrConflict, "RotateClientSecret")
		got, err := s.GetClient(ctx, "c-1")
		ok(t, err, "GetClient")
		if w >= 0 && (got.SecretHash != news[w] || !slices.Equal(got.RotatedSecretHashes, []string{"h1"})) {
			t.Errorf("secret %q rotated %q, want the winner's %q and [h1]", got.SecretHash, got.RotatedSecretHashes, news[w])
		}
	})
}
