package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

func TestFederatedSignInAccountRules(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		s, ctx := newService(t, st), context.Background()
		local := func(name, email string, verified bool) storage.User {
			u, err := s.CreateUser(ctx, "test", NewUser{Username: name, Password: "local password 1", Email: email, EmailVerified: verified})
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		ann := local("ann", "ann@example.com", true)
		ben := local("ben", "ben@example.com", false)
		cat := local("cat", "cat@example.com", true)
		local("twin1", "twin@example.com", true)
		local("twin2", "TWIN@example.com", true)
		link := FederationPolicy{LinkExistingByVerifiedEmail: true}
		sign := func(subject, username, email string, verified bool, p FederationPolicy) (storage.User, error) {
			return s.FederatedSignIn(ctx, FederatedIdentity{UpstreamID: "up", Subject: subject, Username: username,
				Email: email, EmailVerified: verified, Groups: []string{"g"}}, p)
		}

		for _, tt := range []struct {
			name, subject, username, email string
			verified                       bool
			policy                         FederationPolicy
			wantLinkedTo                   string // "" = a new user
		}{
			{"verified on both sides and allowed: linked", "s-ann", "ann-up", "ANN@example.com", true, link, ann.ID},
			{"setting off: a new user, whatever the email", "s-ann2", "ann", "ann@example.com", true, FederationPolicy{}, ""},
			{"upstream says unverified: a new user", "s-cat", "CAT", "cat@example.com", false, link, ""},
			{"local email unverified: a new user (pre-registration takeover)", "s-ben", "ben", "ben@example.com", true, link, ""},
			{"two local accounts with the email: a new user", "s-twin", "twin1", "twin@example.com", true, link, ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				u, err := sign(tt.subject, tt.username, tt.email, tt.verified, tt.policy)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tt.wantLinkedTo != "" && u.ID != tt.wantLinkedTo:
					t.Errorf("signed in as %s (%s), want the existing %s", u.Username, u.ID, tt.wantLinkedTo)
				case tt.wantLinkedTo == "" && (u.ID == ann.ID || u.ID == ben.ID || u.ID == cat.ID || u.PasswordHash != ""):
					t.Errorf("signed in as existing %s, want a new user without password", u.Username)
				}
				if tt.wantLinkedTo == "" && strings.EqualFold(u.Username, tt.username) {
					t.Errorf("new user took the taken username %q", u.Username)
				}
				id, err := st.GetIdentity(ctx, "up", tt.subject)
				if err != nil || id.UserID != u.ID {
					t.Errorf("identity %+v, %v; want linked to %s", id, err, u.ID)
				}
			})
		}

		t.Run("allowed_email_domains needs a verified address in the list", func(t *testing.T) {
			p := FederationPolicy{AllowedEmailDomains: []string{"corp.test"}}
			if _, err := sign("s-d1", "d1", "x@corp.test", false, p); !errors.Is(err, ErrEmailDomainNotAllowed) {
				t.Errorf("unverified corp address: %v, want ErrEmailDomainNotAllowed", err)
			}
			if _, err := sign("s-d2", "d2", "x@evil.test", true, p); !errors.Is(err, ErrEmailDomainNotAllowed) {
				t.Errorf("other domain: %v", err)
			}
			if _, err := sign("s-d3", "d3", "x@sub.corp.test", true, p); !errors.Is(err, ErrEmailDomainNotAllowed) {
				t.Errorf("subdomain: %v", err)
			}
			if _, err := sign("s-d4", "d4", "x@CORP.test", true, p); err != nil {
				t.Errorf("allowed domain: %v", err)
			}
			if _, err := st.GetIdentity(ctx, "up", "s-d2"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("a refused sign-in left an identity: %v", err)
			}
		})

		t.Run("a disabled linked user is refused", func(t *testing.T) {
			if _, err := s.DisableUser(ctx, "test", "ann"); err != nil {
				t.Fatal(err)
			}
			if _, err := sign("s-ann", "ann-up", "ann@example.com", true, link); !errors.Is(err, ErrAccountDisabled) {
				t.Errorf("disabled: %v, want ErrAccountDisabled", err)
			}
		})

		t.Run("unlink keeps the last sign-in method", func(t *testing.T) {
			u, err := sign("s-only", "only", "", false, FederationPolicy{})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.UnlinkIdentity(ctx, u.ID, "up", "s-only"); !errors.Is(err, ErrLastSignInMethod) {
				t.Errorf("unlink of the only method: %v", err)
			}
			if err := s.LinkIdentity(ctx, u.ID, FederatedIdentity{UpstreamID: "other", Subject: "o-1"}); err != nil {
				t.Fatal(err)
			}
			if err := s.UnlinkIdentity(ctx, u.ID, "up", "s-only"); err != nil {
				t.Errorf("unlink with another identity left: %v", err)
			}
			if err := s.LinkIdentity(ctx, ben.ID, FederatedIdentity{UpstreamID: "other", Subject: "o-1"}); !errors.Is(err, ErrIdentityLinked) {
				t.Errorf("linking another user's identity: %v", err)
			}
		})
	})
}

// TestVerifyExternalUsesTheGuard: a directory's password failures lock
// through the one guard, under their own key.
func TestVerifyExternalUsesTheGuard(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		cfg := throttle.DefaultConfig()
		cfg.MaxFailures = 2
		guard := throttle.New(st, st, cfg, nil)
		p := NewPasswords(st, guard, fastParams, nil)
		calls := 0
		check := func(ctx context.Context, name, pw string) error {
			calls++
			if pw == "right" {
				return nil
			}
			return ErrInvalidCredentials
		}
		a := PasswordAttempt{Username: "mallory", Password: "wrong", IP: "192.0.2.1"}
		for i := 0; i < 2; i++ {
			if err := p.VerifyExternal(ctx, "upstream:dir", a, check); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		a.Password = "right"
		if err := p.VerifyExternal(ctx, "upstream:dir", a, check); !errors.Is(err, ErrLocked) {
			t.Fatalf("after 2 failures: %v, want ErrLocked", err)
		}
		if calls != 2 {
			t.Errorf("the directory was asked %d times, want 2 (nothing is checked while locked)", calls)
		}
		// Another realm, same username: its own counter.
		if err := p.VerifyExternal(ctx, "upstream:other", a, check); err != nil {
			t.Errorf("other realm: %v", err)
		}
	})
}
