package sqlite

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const mailCols = `id, recipient, subject, text_body, html_body, links, created_at, attempts,
	next_attempt_at, last_error, claimed_by, lease_until, sent_at`

func scanMail(row interface{ Scan(...any) error }) (storage.Mail, error) {
	var m storage.Mail
	err := row.Scan(&m.ID, &m.Recipient, &m.Subject, &m.TextBody, &m.HTMLBody, jsonCol{&m.Links},
		timeCol{&m.CreatedAt}, &m.Attempts, timeCol{&m.NextAttemptAt}, &m.LastError, &m.ClaimedBy,
		nullTimeCol{&m.LeaseUntil}, nullTimeCol{&m.SentAt})
	if len(m.Links) == 0 {
		m.Links = nil
	}
	return m, err
}

func (s *Store) queryMail(ctx context.Context, op, query string, args ...any) ([]storage.Mail, error) {
	rows, err := s.q(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []storage.Mail
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, m)
	}
	return out, wrap(op, rows.Err())
}

// EnqueueMail inserts a message; ErrConflict if the id exists.
func (s *Store) EnqueueMail(ctx context.Context, m storage.Mail) error {
	links := m.Links
	if links == nil {
		links = []string{}
	}
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO mail_queue (`+mailCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.Recipient, m.Subject, m.TextBody, m.HTMLBody, js(links), ts(m.CreatedAt), m.Attempts,
		ts(m.NextAttemptAt), m.LastError, m.ClaimedBy, tsPtr(m.LeaseUntil), tsPtr(m.SentAt))
	return wrap("enqueue mail", err)
}

// ClaimMail leases due messages in one UPDATE … RETURNING: SQLite's
// single writer makes the select-and-lease atomic across connections
// and processes on the file.
func (s *Store) ClaimMail(ctx context.Context, worker string, now, leaseUntil time.Time, limit int) ([]storage.Mail, error) {
	if limit <= 0 {
		return nil, nil
	}
	ms, err := s.queryMail(ctx, "claim mail", `UPDATE mail_queue SET claimed_by = ?1, lease_until = ?3
		WHERE id IN (SELECT id FROM mail_queue
			WHERE sent_at IS NULL AND next_attempt_at <= ?2 AND (lease_until IS NULL OR lease_until <= ?2)
			ORDER BY next_attempt_at, id LIMIT ?4)
		RETURNING `+mailCols, worker, ts(now), ts(leaseUntil), limit)
	slices.SortFunc(ms, func(a, b storage.Mail) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ms, err
}

// MarkMailSent records delivery by the lease holder.
func (s *Store) MarkMailSent(ctx context.Context, id, worker string, at time.Time) error {
	n, err := s.execCount(ctx, "mark mail sent", `UPDATE mail_queue SET sent_at = ?, lease_until = NULL, last_error = ''
		WHERE id = ? AND claimed_by = ? AND sent_at IS NULL AND lease_until IS NOT NULL`, ts(at), id, worker)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("mark mail sent", "mail")
	}
	return nil
}

// MarkMailFailed counts a failed attempt by the lease holder.
func (s *Store) MarkMailFailed(ctx context.Context, id, worker, lastError string, next time.Time) error {
	n, err := s.execCount(ctx, "mark mail failed", `UPDATE mail_queue SET attempts = attempts + 1,
		next_attempt_at = ?, last_error = ?, lease_until = NULL
		WHERE id = ? AND claimed_by = ? AND sent_at IS NULL AND lease_until IS NOT NULL`,
		ts(next), lastError, id, worker)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("mark mail failed", "mail")
	}
	return nil
}

// GetMail returns one message.
func (s *Store) GetMail(ctx context.Context, id string) (storage.Mail, error) {
	m, err := scanMail(s.q(ctx).QueryRowContext(ctx, `SELECT `+mailCols+` FROM mail_queue WHERE id = ?`, id))
	return m, wrap("get mail", err)
}

// ListMail lists the newest messages.
func (s *Store) ListMail(ctx context.Context, limit int) ([]storage.Mail, error) {
	return s.queryMail(ctx, "list mail", `SELECT `+mailCols+` FROM mail_queue ORDER BY created_at DESC, id DESC LIMIT ?`,
		storage.ListOptions{Limit: limit}.EffectiveLimit())
}

// CountUnsentMail counts the queue's backlog.
func (s *Store) CountUnsentMail(ctx context.Context) (int, error) {
	var n int
	err := s.q(ctx).QueryRowContext(ctx, `SELECT count(*) FROM mail_queue WHERE sent_at IS NULL`).Scan(&n)
	return n, wrap("count unsent mail", err)
}

// DeleteOldMail deletes messages past retention.
func (s *Store) DeleteOldMail(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.execCount(ctx, "delete old mail", `DELETE FROM mail_queue WHERE rowid IN
		(SELECT rowid FROM mail_queue WHERE created_at < ? LIMIT ?)`, ts(before), batchLimit(limit))
}

const linkCols = `hash, purpose, user_id, email, created_at, expires_at, used_at`

func scanLink(row interface{ Scan(...any) error }) (storage.LinkToken, error) {
	var t storage.LinkToken
	err := row.Scan(&t.Hash, &t.Purpose, &t.UserID, &t.Email, timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt},
		nullTimeCol{&t.UsedAt})
	return t, err
}

// CreateLinkToken inserts; ErrConflict if the hash exists.
func (s *Store) CreateLinkToken(ctx context.Context, t storage.LinkToken) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO link_tokens (`+linkCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.Purpose, t.UserID, t.Email, ts(t.CreatedAt), ts(t.ExpiresAt), tsPtr(t.UsedAt))
	return wrap("create link token", err)
}

// GetLinkToken returns a usable token.
func (s *Store) GetLinkToken(ctx context.Context, hash, purpose string, now time.Time) (storage.LinkToken, error) {
	t, err := scanLink(s.q(ctx).QueryRowContext(ctx, `SELECT `+linkCols+` FROM link_tokens
		WHERE hash = ? AND purpose = ? AND expires_at > ? AND used_at IS NULL`, hash, purpose, ts(now)))
	return t, wrap("get link token", err)
}

// UseLinkToken spends a usable token in one conditional UPDATE.
func (s *Store) UseLinkToken(ctx context.Context, hash, purpose string, now time.Time) (storage.LinkToken, error) {
	t, err := scanLink(s.q(ctx).QueryRowContext(ctx, `UPDATE link_tokens SET used_at = ?3
		WHERE hash = ?1 AND purpose = ?2 AND expires_at > ?3 AND used_at IS NULL
		RETURNING `+linkCols, hash, purpose, ts(now)))
	return t, wrap("use link token", err)
}

// DeleteStaleLinkTokens deletes expired tokens.
func (s *Store) DeleteStaleLinkTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.execCount(ctx, "delete stale link tokens", `DELETE FROM link_tokens WHERE rowid IN
		(SELECT rowid FROM link_tokens WHERE expires_at < ? LIMIT ?)`, ts(before), batchLimit(limit))
}

// DeleteUserLinkTokens deletes a user's unused tokens of one purpose.
func (s *Store) DeleteUserLinkTokens(ctx context.Context, userID, purpose string) (int, error) {
	return s.execCount(ctx, "delete user link tokens", `DELETE FROM link_tokens
		WHERE user_id = ? AND purpose = ? AND used_at IS NULL`, userID, purpose)
}
