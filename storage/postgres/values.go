package postgres

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// ts prepares a time for a timestamptz column: UTC, truncated to the
// microsecond Postgres keeps, so that what is read back equals what the
// caller can predict.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// tsPtr is ts for nullable columns; nil stays NULL.
func tsPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// utcPtr normalises a nullable time read from the database.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// arr turns a nil slice into an empty one: pgx encodes nil as NULL and the
// array columns are NOT NULL.
func arr(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// list turns an empty slice read back into nil, so that records compare
// equal whatever the caller stored for "none".
func list(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// blob prepares a NOT NULL bytea value.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// optBlob turns an empty byte slice read back into nil.
func optBlob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// likePattern builds an ILIKE pattern matching q anywhere, with q's own
// wildcards (and the escape character) taken literally.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// Cursors are opaque to callers: a prefix naming the list (so a cursor of
// one list is refused by another) and the last key returned, base64url.
func encodeCursor(kind, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + key))
}

func decodeCursor(kind, cursor string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", fmt.Errorf("postgres: invalid %s cursor", kind)
	}
	key, ok := strings.CutPrefix(string(raw), kind+":")
	if !ok {
		return "", fmt.Errorf("postgres: invalid %s cursor", kind)
	}
	return key, nil
}
