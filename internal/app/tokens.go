package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// This file is the one owner of "revoke access": every place that ends a
// user's or a client's access (CLI, admin API, account page, password
// change, disable, delete) comes through revokeUser or revokeGrants, so
// grants, their tokens and their authorization codes always go together.

// RevokeForUser ends a user's access: their browser sessions and every
// grant issued to them (as subject) with its tokens and codes; it returns
// how many grants were revoked.
func (s *Service) RevokeForUser(ctx context.Context, actor, idOrUsername string) (int, error) {
	var n int
	err := s.inTx(ctx, func(ctx context.Context) error {
		u, err := s.GetUser(ctx, idOrUsername)
		if err != nil {
			return err
		}
		if n, err = s.revokeUser(ctx, u.ID, "revoked by administrator"); err != nil {
			return err
		}
		return s.audit(ctx, actor, "token.revoked", "", u.ID, map[string]string{"by": "user", "grants_revoked": fmt.Sprint(n)})
	})
	return n, err
}

// RevokeForClient revokes every grant issued to a client with its token rows.
func (s *Service) RevokeForClient(ctx context.Context, actor, clientID string) (int, error) {
	var n int
	err := s.inTx(ctx, func(ctx context.Context) error {
		if _, err := s.GetClient(ctx, clientID); err != nil {
			return err
		}
		var err error
		if n, err = s.revokeGrants(ctx, storage.GrantFilter{ClientID: clientID}, "revoked by administrator"); err != nil {
			return err
		}
		return s.audit(ctx, actor, "token.revoked", clientID, "", map[string]string{"by": "client", "grants_revoked": fmt.Sprint(n)})
	})
	return n, err
}

// RevokeConsent ends what a user gave one client: every grant of the user
// to the client with its tokens and codes, and the remembered consent, so
// the next authorization asks again. It returns how many grants were
// revoked; an error wrapping storage.ErrNotFound when there was neither a
// grant nor a consent. actor is "user:<id>" on the account page.
func (s *Service) RevokeConsent(ctx context.Context, actor, idOrUsername, clientID string) (int, error) {
	var n int
	err := s.inTx(ctx, func(ctx context.Context) error {
		u, err := s.GetUser(ctx, idOrUsername)
		if err != nil {
			return err
		}
		if n, err = s.revokeGrants(ctx, storage.GrantFilter{Subject: u.ID, ClientID: clientID}, "consent revoked"); err != nil {
			return err
		}
		err = s.store.DeleteConsent(ctx, u.ID, clientID)
		switch {
		case errors.Is(err, storage.ErrNotFound) && n == 0:
			return &kindError{fmt.Sprintf("user %q has no consent or grant for client %q", u.Username, clientID), storage.ErrNotFound}
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("delete consent: %w", err)
		}
		return s.audit(ctx, actor, "consent.revoked", clientID, u.ID, map[string]string{"grants_revoked": fmt.Sprint(n)})
	})
	return n, err
}

// revokeUser ends a user's browser sessions and revokes their grants.
func (s *Service) revokeUser(ctx context.Context, userID, reason string) (int, error) {
	if _, err := s.store.RevokeUserSessions(ctx, userID, s.clock()); err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	return s.revokeGrants(ctx, storage.GrantFilter{Subject: userID}, reason)
}

// revokedKinds are the token rows deactivated with their grant. JWT access
// tokens have no row; they are revoked through the grant itself.
var revokedKinds = []storage.TokenKind{storage.KindAccessToken, storage.KindRefreshToken, storage.KindAuthorizeCode}

func (s *Service) revokeGrants(ctx context.Context, f storage.GrantFilter, reason string) (int, error) {
	ids, err := s.store.RevokeGrants(ctx, f, reason, s.clock())
	if err != nil {
		return 0, fmt.Errorf("revoke grants: %w", err)
	}
	for _, id := range ids {
		for _, kind := range revokedKinds {
			if _, err := s.store.DeactivateByRequestID(ctx, kind, id); err != nil {
				return 0, fmt.Errorf("deactivate %s of grant: %w", kind, err)
			}
		}
	}
	return len(ids), nil
}

// TokenView is one live grant of a user as `sesame tokens list` and GET
// /admin/users/{id}/tokens show it: which client holds it, how it was
// obtained and until when it lives — never a token value (only hashes are
// stored). Kind is the grant type: personal_token for `sesame tokens
// issue` and imported DRF keys, otherwise the OAuth grant
// (authorization_code, password, …) that started the refresh family.
type TokenView struct {
	ClientID   string    `json:"client_id"`
	Kind       string    `json:"kind"`
	Scope      string    `json:"scope"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// ListUserTokens lists a user's (id or username) live grants — personal
// tokens, imported DRF tokens and sign-in grants alike — oldest first.
// Revoked and expired ones are left out.
func (s *Service) ListUserTokens(ctx context.Context, idOrUsername string) ([]TokenView, error) {
	u, err := s.GetUser(ctx, idOrUsername)
	if err != nil {
		return nil, err
	}
	gs, err := s.store.ListGrants(ctx, storage.GrantFilter{Subject: u.ID, ActiveOnly: true, Now: s.clock()})
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	out := make([]TokenView, 0, len(gs))
	for _, g := range gs {
		out = append(out, TokenView{
			ClientID: g.ClientID, Kind: g.GrantType, Scope: strings.Join(g.Scopes, " "),
			CreatedAt: g.CreatedAt, LastUsedAt: g.LastUsedAt, ExpiresAt: g.ExpiresAt,
		})
	}
	return out, nil
}
