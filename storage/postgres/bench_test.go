package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// The hot paths of a token request: look a token up, and rotate a refresh
// token (deactivate the old record, insert the new one) in one transaction.

func BenchmarkGetToken(b *testing.B) {
	s := pgtest.Open(b)
	ctx := b.Context()
	now := time.Now()
	rec := storage.TokenRecord{Kind: storage.KindAccessToken, Signature: "sig", RequestID: "req",
		Active: true, RequestedAt: now, ExpiresAt: now.Add(time.Hour), Data: make([]byte, 512)}
	if err := s.CreateToken(ctx, rec); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetToken(ctx, storage.KindAccessToken, "sig"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRotateRefreshToken(b *testing.B) {
	s := pgtest.Open(b)
	ctx := b.Context()
	now := time.Now()
	rec := func(sig string) storage.TokenRecord {
		return storage.TokenRecord{Kind: storage.KindRefreshToken, Signature: sig, RequestID: "req",
			Active: true, RequestedAt: now, ExpiresAt: now.Add(time.Hour), Data: make([]byte, 512)}
	}
	if err := s.CreateToken(ctx, rec("rt-0")); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		old, next := fmt.Sprintf("rt-%d", i), fmt.Sprintf("rt-%d", i+1)
		err := storage.InTx(ctx, s, func(ctx context.Context) error {
			if err := s.DeactivateToken(ctx, storage.KindRefreshToken, old, now, []byte("succ")); err != nil {
				return err
			}
			return s.CreateToken(ctx, rec(next))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// One token row per commit, as before group commit.
func BenchmarkCreateToken(b *testing.B) {
	s := pgtest.Open(b)
	ctx := b.Context()
	now := time.Now()
	data := make([]byte, 512)
	var n int
	for b.Loop() {
		n++
		if err := s.CreateToken(ctx, storage.TokenRecord{Kind: storage.KindAccessToken, Signature: fmt.Sprint(n),
			RequestID: fmt.Sprint(n), Active: true, RequestedAt: now, ExpiresAt: now.Add(time.Hour), Data: data}); err != nil {
			b.Fatal(err)
		}
	}
}

// A group commit of 16 rows in one round trip (the token batcher under
// load at concurrency 16); row-ns/op is the cost per row.
func BenchmarkCreateTokensBatch16(b *testing.B) {
	s := pgtest.Open(b)
	ctx := b.Context()
	now := time.Now()
	data := make([]byte, 512)
	var n int
	for b.Loop() {
		recs := make([]storage.TokenRecord, 16)
		for j := range recs {
			n++
			recs[j] = storage.TokenRecord{Kind: storage.KindAccessToken, Signature: fmt.Sprint(n),
				RequestID: fmt.Sprint(n), Active: true, RequestedAt: now, ExpiresAt: now.Add(time.Hour), Data: data}
		}
		if err := s.CreateTokens(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "row-ns/op")
}
