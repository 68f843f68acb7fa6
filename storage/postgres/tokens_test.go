package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

func batchToken(sig string) storage.TokenRecord {
	now := time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)
	return storage.TokenRecord{Kind: storage.KindAccessToken, Signature: sig, RequestID: "req", ClientID: "c",
		Active: true, RequestedAt: now, ExpiresAt: now.Add(time.Hour)}
}

// TestCreateTokensBatchIsOneImplicitTransaction checks what CreateTokens
// relies on outside a transaction: pgx sends the batch as one pipeline
// with a single Sync, which the server runs as one implicit transaction,
// so a conflict in the last row takes back the rows already inserted.
func TestCreateTokensBatchIsOneImplicitTransaction(t *testing.T) {
	s, ctx := pgtest.Open(t), t.Context()
	if err := s.CreateToken(ctx, batchToken("stored")); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	var batch []storage.TokenRecord
	for i := range 5 {
		batch = append(batch, batchToken(fmt.Sprintf("new-%d", i)))
	}
	err := s.CreateTokens(ctx, append(batch, batchToken("stored")))
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("CreateTokens ending in a stored signature: %v, want ErrConflict", err)
	}
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM tokens`).Scan(&n); err != nil {
		t.Fatalf("count tokens: %v", err)
	}
	if n != 1 {
		t.Errorf("%d token rows after the refused batch, want only the stored one", n)
	}
	// The connection went back to the pool without a transaction left open.
	if err := s.CreateTokens(ctx, batch); err != nil {
		t.Fatalf("CreateTokens of the batch without the conflict: %v", err)
	}
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM tokens`).Scan(&n); err != nil || n != 6 {
		t.Errorf("token rows after the second batch = %d (err %v), want 6", n, err)
	}
}

// TestCreateTokensConflictInCallersTransaction: in the caller's
// transaction the batch runs there; a conflict aborts that transaction,
// so nothing of it (the batch or the caller's earlier writes) commits.
func TestCreateTokensConflictInCallersTransaction(t *testing.T) {
	s, ctx := pgtest.Open(t), t.Context()
	if err := s.CreateToken(ctx, batchToken("stored")); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	var batchErr error
	err := storage.InTx(ctx, s, func(ctx context.Context) error {
		if err := s.CreateToken(ctx, batchToken("before")); err != nil {
			return err
		}
		batchErr = s.CreateTokens(ctx, []storage.TokenRecord{batchToken("new-1"), batchToken("stored")})
		return nil // commit anyway: the aborted transaction must refuse
	})
	if !errors.Is(batchErr, storage.ErrConflict) {
		t.Errorf("CreateTokens in the transaction: %v, want ErrConflict", batchErr)
	}
	if err == nil {
		t.Error("committing a transaction whose batch failed succeeded")
	}
	for _, sig := range []string{"before", "new-1"} {
		if _, err := s.GetToken(ctx, storage.KindAccessToken, sig); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("GetToken %s after the failed transaction: %v, want ErrNotFound", sig, err)
		}
	}
}
