package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

func batchToken(sig string) storage.TokenRecord {
	return storage.TokenRecord{Kind: storage.KindAccessToken, Signature: sig, RequestID: "req", ClientID: "c",
		Active: true, RequestedAt: base, ExpiresAt: base.Add(time.Hour)}
}

// TestCreateTokensConflictInCallersTransaction: SQLite undoes only the
// failing statement, so without the savepoint the rows of a batch before
// a duplicate would stay in the caller's transaction and be committed by
// a caller that carries on.
func TestCreateTokensConflictInCallersTransaction(t *testing.T) {
	s, ctx := newStore(t), t.Context()
	if err := s.CreateToken(ctx, batchToken("stored")); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	err := storage.InTx(ctx, s, func(ctx context.Context) error {
		if err := s.CreateToken(ctx, batchToken("before")); err != nil {
			return err
		}
		err := s.CreateTokens(ctx, []storage.TokenRecord{batchToken("new-1"), batchToken("new-2"), batchToken("stored")})
		if !errors.Is(err, storage.ErrConflict) {
			t.Errorf("CreateTokens with a stored signature: %v, want ErrConflict", err)
		}
		return s.CreateToken(ctx, batchToken("after"))
	})
	if err != nil {
		t.Fatalf("InTx going on after the refused batch: %v", err)
	}
	for sig, want := range map[string]bool{"before": true, "after": true, "new-1": false, "new-2": false} {
		_, err := s.GetToken(ctx, storage.KindAccessToken, sig)
		if got := err == nil; got != want || (err != nil && !errors.Is(err, storage.ErrNotFound)) {
			t.Errorf("token %s present=%v (err %v), want %v", sig, got, err, want)
		}
	}
}

// TestCreateTokensUsesTheCachedStatement: a batch outside a transaction
// prepares the INSERT through the pool before BEGIN, so it is cached for
// this and every later batch (inside a transaction nothing is prepared on
// the pool).
func TestCreateTokensUsesTheCachedStatement(t *testing.T) {
	s, ctx := newStore(t), t.Context()
	if err := s.CreateTokens(ctx, []storage.TokenRecord{batchToken("a"), batchToken("b")}); err != nil {
		t.Fatalf("CreateTokens: %v", err)
	}
	if s.stmts.lookup(insertToken) == nil {
		t.Error("the token INSERT is not in the statement cache after CreateTokens")
	}
}

// TestGetTokenUsesTheCachedStatement: the joined read behind every
// introspection goes through the statement cache like the query it
// replaced, so it is parsed once, not per request.
func TestGetTokenUsesTheCachedStatement(t *testing.T) {
	s, ctx := newStore(t), t.Context()
	if err := s.CreateToken(ctx, batchToken("a")); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if _, err := s.GetToken(ctx, storage.KindAccessToken, "a"); err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	if s.stmts.lookup(getToken) == nil {
		t.Error("the token SELECT is not in the statement cache after GetToken")
	}
}
