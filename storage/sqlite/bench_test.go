package sqlite

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.Context(), b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	return s
}

// Writes from parallel goroutines: they queue on the single write lock.
func BenchmarkCreateTokenParallel(b *testing.B) {
	s := benchStore(b)
	var n atomic.Int64
	data := make([]byte, 512)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			err := s.CreateToken(b.Context(), storage.TokenRecord{Kind: storage.KindAccessToken,
				Signature: fmt.Sprint(i), RequestID: fmt.Sprint(i / 3), Active: true,
				RequestedAt: base, ExpiresAt: base.Add(time.Hour), Data: data})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// Reads run concurrently under WAL.
func BenchmarkGetTokenParallel(b *testing.B) {
	s := benchStore(b)
	const rows = 1000
	for i := range rows {
		if err := s.CreateToken(b.Context(), storage.TokenRecord{Kind: storage.KindAccessToken,
			Signature: fmt.Sprint(i), RequestID: "r", Active: true, RequestedAt: base,
			ExpiresAt: base.Add(time.Hour), Data: make([]byte, 512)}); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetToken(b.Context(), storage.KindAccessToken, fmt.Sprint(n.Add(1)%rows)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// A group commit of 16 rows (what the token batcher sends under load at
// concurrency 16); ns/op is per batch, the row-ns/op metric per row.
func BenchmarkCreateTokensBatch16(b *testing.B) {
	s := benchStore(b)
	data := make([]byte, 512)
	var n int
	for b.Loop() {
		recs := make([]storage.TokenRecord, 16)
		for j := range recs {
			n++
			recs[j] = storage.TokenRecord{Kind: storage.KindAccessToken, Signature: fmt.Sprint(n),
				RequestID: fmt.Sprint(n), Active: true, RequestedAt: base, ExpiresAt: base.Add(time.Hour), Data: data}
		}
		if err := s.CreateTokens(b.Context(), recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "row-ns/op")
}
