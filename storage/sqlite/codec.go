package sqlite

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// timeLayout is fixed-width (nanoseconds always printed, always UTC "Z") so
// that the TEXT columns sort chronologically and compare with < and MAX()
// in SQL, and so that every nanosecond round-trips. It covers years
// 0000–9999, including the zero time.Time, which an int64 of Unix
// nanoseconds could not hold.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// ts encodes a time for a TEXT column.
func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

// tsPtr encodes a nullable time: nil becomes NULL.
func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// parseTS decodes a TEXT time column.
func parseTS(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("decode time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// timeCol scans a TEXT time column and decodes it in one place, so row
// scanners can keep a flat list of destinations.
type timeCol struct {
	dst *time.Time
}

func (c timeCol) Scan(src any) error {
	s, err := textOf(src)
	if err != nil {
		return err
	}
	t, err := parseTS(s)
	if err != nil {
		return err
	}
	*c.dst = t
	return nil
}

// nullTimeCol scans a nullable TEXT time column into a *time.Time.
type nullTimeCol struct {
	dst **time.Time
}

func (c nullTimeCol) Scan(src any) error {
	if src == nil {
		*c.dst = nil
		return nil
	}
	s, err := textOf(src)
	if err != nil {
		return err
	}
	t, err := parseTS(s)
	if err != nil {
		return err
	}
	*c.dst = &t
	return nil
}

// jsonCol scans a JSON TEXT column into dst (a pointer to a slice or map).
type jsonCol struct {
	dst any
}

func (c jsonCol) Scan(src any) error {
	s, err := textOf(src)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(s), c.dst); err != nil {
		return fmt.Errorf("decode json column: %w", err)
	}
	return nil
}

func textOf(src any) (string, error) {
	switch v := src.(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	}
	return "", fmt.Errorf("unexpected column type %T", src)
}

// blobCol scans a nullable BLOB column, copying the driver's buffer. NULL
// and empty both come back as nil: callers treat them alike.
type blobCol struct {
	dst *[]byte
}

func (c blobCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.dst = nil
	case []byte:
		if len(v) == 0 {
			*c.dst = nil
			return nil
		}
		*c.dst = append([]byte(nil), v...)
	case string:
		if v == "" {
			*c.dst = nil
			return nil
		}
		*c.dst = []byte(v)
	default:
		return fmt.Errorf("unexpected blob column type %T", src)
	}
	return nil
}

// blob encodes bytes for a BLOB column; nil and empty become NULL.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// js encodes a slice or map as JSON text. A nil slice is stored as "null"
// and an empty one as "[]", so both read back as they were written.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only []string and map[string]string reach here; they always
		// marshal.
		panic(fmt.Sprintf("sqlite: marshal %T: %v", v, err))
	}
	return string(b)
}

// boolInt encodes a bool for an INTEGER column.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// errBadCursor reports a cursor this backend did not produce.
var errBadCursor = errors.New("invalid list cursor")

// encodeCursor makes the opaque cursor for the last key of a page.
func encodeCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errBadCursor, err)
	}
	return string(b), nil
}

// rowsAffected returns how many rows a statement changed.
func rowsAffected(res sql.Result) (int, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", err)
	}
	return int(n), nil
}

// batchLimit bounds a batched delete; a non-positive limit deletes nothing
// rather than everything, so a zero value cannot wipe a table.
func batchLimit(limit int) int {
	if limit < 0 {
		return 0
	}
	return limit
}
