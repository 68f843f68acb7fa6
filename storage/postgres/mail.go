package postgres

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const mailCols = `id, recipient, subject, text_body, html_body, links, created_at, attempts,
	next_attempt_at, last_error, claimed_by, lease_until, sent_at`

func scanMail(row pgx.CollectableRow) (storage.Mail, error) {
	var m storage.Mail
	if err := row.Scan(&m.ID, &m.Recipient, &m.Subject, &m.TextBody, &m.HTMLBody, &m.Links, &m.CreatedAt,
		&m.Attempts, &m.NextAttemptAt, &m.LastError, &m.ClaimedBy, &m.LeaseUntil, &m.SentAt); err != nil {
		return storage.Mail{}, err
	}
	m.Links = list(m.Links)
	m.CreatedAt, m.NextAttemptAt = m.CreatedAt.UTC(), m.NextAttemptAt.UTC()
	m.LeaseUntil, m.SentAt = utcPtr(m.LeaseUntil), utcPtr(m.SentAt)
	return m, nil
}

// EnqueueMail inserts a message; ErrConflict if the id exists.
func (s *Store) EnqueueMail(ctx context.Context, m storage.Mail) error {
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO mail_queue (`+mailCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		m.ID, m.Recipient, m.Subject, m.TextBody, m.HTMLBody, arr(m.Links), ts(m.CreatedAt), m.Attempts,
		ts(m.NextAttemptAt), m.LastError, m.ClaimedBy, tsPtr(m.LeaseUntil), tsPtr(m.SentAt))
	return mapErr("enqueue mail", err)
}

// ClaimMail leases due messages in one statement. SKIP LOCKED lets two
// instances claim at once without waiting for or double-claiming each
// other's rows; the lease keeps a claimed row away from the next claim
// after the claiming transaction committed.
func (s *Store) ClaimMail(ctx context.Context, worker string, now, leaseUntil time.Time, limit int) ([]storage.Mail, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, _ := s.q(ctx).Query(ctx, `UPDATE mail_queue SET claimed_by = $1, lease_until = $3
		WHERE id = ANY(ARRAY(SELECT id FROM mail_queue
			WHERE sent_at IS NULL AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until <= $2)
			ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED))
		RETURNING `+mailCols, worker, ts(now), ts(leaseUntil), limit)
	ms, err := pgx.CollectRows(rows, scanMail)
	if err != nil {
		return nil, mapErr("claim mail", err)
	}
	sortMail(ms)
	return ms, nil
}

// MarkMailSent records delivery by the lease holder.
func (s *Store) MarkMailSent(ctx context.Context, id, worker string, at time.Time) error {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE mail_queue SET sent_at = $3, lease_until = NULL, last_error = ''
		WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL AND lease_until IS NOT NULL`, id, worker, ts(at))
	if err != nil {
		return mapErr("mark mail sent", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("mark mail sent")
	}
	return nil
}

// MarkMailFailed counts a failed attempt by the lease holder.
func (s *Store) MarkMailFailed(ctx context.Context, id, worker, lastError string, next time.Time) error {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE mail_queue SET attempts = attempts + 1, next_attempt_at = $4,
		last_error = $3, lease_until = NULL
		WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL AND lease_until IS NOT NULL`,
		id, worker, lastError, ts(next))
	if err != nil {
		return mapErr("mark mail failed", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("mark mail failed")
	}
	return nil
}

// GetMail returns one message.
func (s *Store) GetMail(ctx context.Context, id string) (storage.Mail, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+mailCols+` FROM mail_queue WHERE id = $1`, id)
	m, err := pgx.CollectExactlyOneRow(rows, scanMail)
	return m, mapErr("get mail", err)
}

// ListMail lists the newest messages.
func (s *Store) ListMail(ctx context.Context, limit int) ([]storage.Mail, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+mailCols+` FROM mail_queue ORDER BY created_at DESC, id DESC LIMIT $1`,
		storage.ListOptions{Limit: limit}.EffectiveLimit())
	ms, err := pgx.CollectRows(rows, scanMail)
	if err != nil {
		return nil, mapErr("list mail", err)
	}
	return ms, nil
}

// CountUnsentMail counts the queue's backlog.
func (s *Store) CountUnsentMail(ctx context.Context) (int, error) {
	var n int
	err := s.q(ctx).QueryRow(ctx, `SELECT count(*) FROM mail_queue WHERE sent_at IS NULL`).Scan(&n)
	return n, mapErr("count unsent mail", err)
}

// DeleteOldMail deletes messages past retention.
func (s *Store) DeleteOldMail(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete old mail", "mail_queue", "created_at < $1", limit, ts(before))
}

const linkCols = `hash, purpose, user_id, email, created_at, expires_at, used_at`

func scanLink(row pgx.CollectableRow) (storage.LinkToken, error) {
	var t storage.LinkToken
	if err := row.Scan(&t.Hash, &t.Purpose, &t.UserID, &t.Email, &t.CreatedAt, &t.ExpiresAt, &t.UsedAt); err != nil {
		return storage.LinkToken{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC(), utcPtr(t.UsedAt)
	return t, nil
}

// CreateLinkToken inserts; ErrConflict if the hash exists.
func (s *Store) CreateLinkToken(ctx context.Context, t storage.LinkToken) error {
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO link_tokens (`+linkCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.Hash, t.Purpose, t.UserID, t.Email, ts(t.CreatedAt), ts(t.ExpiresAt), tsPtr(t.UsedAt))
	return mapErr("create link token", err)
}

// GetLinkToken returns a usable token.
func (s *Store) GetLinkToken(ctx context.Context, hash, purpose string, now time.Time) (storage.LinkToken, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+linkCols+` FROM link_tokens
		WHERE hash = $1 AND purpose = $2 AND expires_at > $3 AND used_at IS NULL`, hash, purpose, ts(now))
	t, err := pgx.CollectExactlyOneRow(rows, scanLink)
	return t, mapErr("get link token", err)
}

// UseLinkToken spends a usable token in one conditional UPDATE, so of
// concurrent uses exactly one wins.
func (s *Store) UseLinkToken(ctx context.Context, hash, purpose string, now time.Time) (storage.LinkToken, error) {
	rows, _ := s.q(ctx).Query(ctx, `UPDATE link_tokens SET used_at = $3
		WHERE hash = $1 AND purpose = $2 AND expires_at > $3 AND used_at IS NULL
		RETURNING `+linkCols, hash, purpose, ts(now))
	t, err := pgx.CollectExactlyOneRow(rows, scanLink)
	return t, mapErr("use link token", err)
}

// DeleteStaleLinkTokens deletes expired tokens.
func (s *Store) DeleteStaleLinkTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete stale link tokens", "link_tokens", "expires_at < $1", limit, ts(before))
}

// DeleteUserLinkTokens deletes a user's unused tokens of one purpose.
func (s *Store) DeleteUserLinkTokens(ctx context.Context, userID, purpose string) (int, error) {
	tag, err := s.q(ctx).Exec(ctx, `DELETE FROM link_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL`, userID, purpose)
	if err != nil {
		return 0, mapErr("delete user link tokens", err)
	}
	return int(tag.RowsAffected()), nil
}

// sortMail orders claimed messages oldest due first (RETURNING has no
// order of its own).
func sortMail(ms []storage.Mail) {
	slices.SortFunc(ms, func(a, b storage.Mail) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
