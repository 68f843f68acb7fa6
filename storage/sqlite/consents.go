package sqlite

import (
	"context"

	"github.com/sesameauth/sesame/storage"
)

const consentCols = `user_id, client_id, scopes, audience, created_at, updated_at`

func scanConsent(row interface{ Scan(...any) error }) (storage.Consent, error) {
	var c storage.Consent
	err := row.Scan(&c.UserID, &c.ClientID, jsonCol{&c.Scopes}, jsonCol{&c.Audience},
		timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt})
	return c, err
}

// UpsertConsent creates or replaces the consent of (UserID, ClientID).
func (s *Store) UpsertConsent(ctx context.Context, c storage.Consent) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO consents (`+consentCols+`)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes,
			audience = excluded.audience, created_at = excluded.created_at,
			updated_at = excluded.updated_at`,
		c.UserID, c.ClientID, js(c.Scopes), js(c.Audience), ts(c.CreatedAt), ts(c.UpdatedAt))
	return wrap("upsert consent", err)
}

// GetConsent returns the consent of (userID, clientID); ErrNotFound if none.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (storage.Consent, error) {
	c, err := scanConsent(s.q(ctx).QueryRowContext(ctx, `SELECT `+consentCols+` FROM consents
		WHERE user_id = ? AND client_id = ?`, userID, clientID))
	return c, wrap("get consent", err)
}

// ListConsents lists a user's consents ordered by client id.
func (s *Store) ListConsents(ctx context.Context, userID string) ([]storage.Consent, error) {
	const op = "list consents"
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+consentCols+` FROM consents
		WHERE user_id = ? ORDER BY client_id`, userID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []storage.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, c)
	}
	return out, wrap(op, rows.Err())
}

// DeleteConsent removes a consent; ErrNotFound if absent.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string) error {
	return s.deleteOne(ctx, "delete consent", `DELETE FROM consents WHERE user_id = ? AND client_id = ?`,
		userID, clientID)
}

// DeleteConsentsByClient removes every consent to clientID and returns how
// many; consents_client_id_idx keeps it off a full scan.
func (s *Store) DeleteConsentsByClient(ctx context.Context, clientID string) (int, error) {
	return s.execCount(ctx, "delete consents of client", `DELETE FROM consents WHERE client_id = ?`, clientID)
}
