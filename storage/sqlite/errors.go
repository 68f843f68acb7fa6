package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/sesameauth/sesame/storage"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrBusy reports that the database stayed locked by another writer for the
// whole busy timeout. It is an infrastructure failure (retry later, 503),
// never a lost race: it does not match storage.ErrConflict.
var ErrBusy = errors.New("sqlite: database busy")

// mapErr translates driver errors into the storage sentinels, keeping the
// original in the chain (errors.Is works for both).
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	// Already translated (an error coming back out of inTx, say).
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) || errors.Is(err, ErrBusy) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch code := se.Code(); {
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE, code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", storage.ErrConflict, err)
		case code&0xff == sqlite3.SQLITE_BUSY, code&0xff == sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %w", ErrBusy, err)
		}
	}
	return err
}

// wrap maps err and prefixes it with the operation name.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlite: %s: %w", op, mapErr(err))
}

// notFound and conflict build sentinel errors for conditions found by the
// backend itself rather than reported by the driver.
func notFound(op, what string) error {
	return fmt.Errorf("sqlite: %s: %s: %w", op, what, storage.ErrNotFound)
}

func conflict(op, what string) error {
	return fmt.Errorf("sqlite: %s: %s: %w", op, what, storage.ErrConflict)
}

// missing and lost are notFound and conflict for use inside an inTx
// closure, whose caller adds the operation name.
func missing(what string) error { return fmt.Errorf("%s: %w", what, storage.ErrNotFound) }

func lost(what string) error { return fmt.Errorf("%s: %w", what, storage.ErrConflict) }
