package app

import (
	"context"
	"fmt"

	"github.com/sesameauth/sesame/storage"
)

// RevokeForUser revokes every grant issued to a user (as subject) with its
// token rows; it returns how many grants were revoked.
func (s *Service) RevokeForUser(ctx context.Context, actor, idOrUsername string) (int, error) {
	var n int
	err := s.inTx(ctx, func(ctx context.Context) error {
		u, err := s.GetUser(ctx, idOrUsername)
		if err != nil {
			return err
		}
		if n, err = s.revokeGrants(ctx, storage.GrantFilter{Subject: u.ID}, "revoked by administrator"); err != nil {
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
