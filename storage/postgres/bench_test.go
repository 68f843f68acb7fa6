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
