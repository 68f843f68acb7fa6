package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sesameauth/sesame/storage"
)

func TestMapErr(t *testing.T) {
	cases := []struct {
		name         string
		in           error
		wantNotFound bool
		wantConflict bool
	}{
		{"no rows is not found", pgx.ErrNoRows, true, false},
		{"wrapped no rows is not found", fmt.Errorf("scan: %w", pgx.ErrNoRows), true, false},
		{"unique violation is a conflict", &pgconn.PgError{Code: "23505"}, false, true},
		{"serialization failure is a conflict", &pgconn.PgError{Code: "40001"}, false, true},
		{"deadlock is a conflict", &pgconn.PgError{Code: "40P01"}, false, true},
		{"admin shutdown is neither", &pgconn.PgError{Code: "57P01"}, false, false},
		{"not null violation is neither", &pgconn.PgError{Code: "23502"}, false, false},
		{"cancelled context is neither", context.Canceled, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := mapErr("op", c.in)
			if err == nil {
				t.Fatal("mapErr returned nil for an error")
			}
			if got := errors.Is(err, storage.ErrNotFound); got != c.wantNotFound {
				t.Errorf("errors.Is(ErrNotFound) = %v, want %v (err %v)", got, c.wantNotFound, err)
			}
			if got := errors.Is(err, storage.ErrConflict); got != c.wantConflict {
				t.Errorf("errors.Is(ErrConflict) = %v, want %v (err %v)", got, c.wantConflict, err)
			}
			// The driver error stays reachable for logging and errors.As
			// (a missing row says all there is to say with the sentinel).
			if !c.wantNotFound && !errors.Is(err, c.in) {
				t.Errorf("the original error is no longer in the chain: %v", err)
			}
		})
	}
	if err := mapErr("op", nil); err != nil {
		t.Errorf("mapErr(nil) = %v, want nil", err)
	}
}

func TestCursorRoundTripAndRejection(t *testing.T) {
	c := encodeCursor("users", "alice")
	got, err := decodeCursor("users", c)
	if err != nil || got != "alice" {
		t.Fatalf("decodeCursor(encodeCursor) = %q, %v; want alice", got, err)
	}
	for name, bad := range map[string]string{
		"another list's cursor": encodeCursor("clients", "alice"),
		"not base64":            "!!!",
		"no prefix":             "YWxpY2U",
	} {
		if _, err := decodeCursor("users", bad); err == nil {
			t.Errorf("%s: decodeCursor accepted %q", name, bad)
		}
	}
}

func TestLikePatternEscapesWildcards(t *testing.T) {
	cases := map[string]string{
		"abc":     `%abc%`,
		"100%":    `%100\%%`,
		"a_b":     `%a\_b%`,
		`back\sl`: `%back\\sl%`,
	}
	for in, want := range cases {
		if got := likePattern(in); got != want {
			t.Errorf("likePattern(%q) = %q, want %q", in, got, want)
		}
	}
}
