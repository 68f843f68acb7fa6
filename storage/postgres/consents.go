package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const consentCols = `user_id, client_id, scopes, audience, created_at, updated_at`

func scanConsent(row pgx.CollectableRow) (storage.Consent, error) {
	var c storage.Consent
	err := row.Scan(&c.UserID, &c.ClientID, &c.Scopes, &c.Audience, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return storage.Consent{}, err
	}
	c.Scopes, c.Audience = list(c.Scopes), list(c.Audience)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

// UpsertConsent creates or replaces the consent of (UserID, ClientID).
// A replaced consent keeps its original CreatedAt.
func (s *Store) UpsertConsent(ctx context.Context, c storage.Consent) error {
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO consents (`+consentCols+`)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = EXCLUDED.scopes,
			audience = EXCLUDED.audience, updated_at = EXCLUDED.updated_at`,
		c.UserID, c.ClientID, arr(c.Scopes), arr(c.Audience), ts(c.CreatedAt), ts(c.UpdatedAt))
	return mapErr("upsert consent", err)
}

// GetConsent returns the consent of (userID, clientID).
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (storage.Consent, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+consentCols+` FROM consents
		WHERE user_id = $1 AND client_id = $2`, userID, clientID)
	c, err := pgx.CollectExactlyOneRow(rows, scanConsent)
	if err != nil {
		return storage.Consent{}, mapErr("get consent", err)
	}
	return c, nil
}

// ListConsents lists the user's consents ordered by client id.
func (s *Store) ListConsents(ctx context.Context, userID string) ([]storage.Consent, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+consentCols+` FROM consents
		WHERE user_id = $1 ORDER BY client_id`, userID)
	cs, err := pgx.CollectRows(rows, scanConsent)
	if err != nil {
		return nil, mapErr("list consents", err)
	}
	return cs, nil
}

// DeleteConsent removes the consent; ErrNotFound if absent.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string) error {
	tag, err := s.q(ctx).Exec(ctx, `DELETE FROM consents WHERE user_id = $1 AND client_id = $2`,
		userID, clientID)
	if err != nil {
		return mapErr("delete consent", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete consent")
	}
	return nil
}

// DeleteConsentsByClient removes every consent to clientID and returns how
// many; consents_client_id_idx keeps it off a full scan.
func (s *Store) DeleteConsentsByClient(ctx context.Context, clientID string) (int, error) {
	tag, err := s.q(ctx).Exec(ctx, `DELETE FROM consents WHERE client_id = $1`, clientID)
	if err != nil {
		return 0, mapErr("delete consents of client", err)
	}
	return int(tag.RowsAffected()), nil
}
