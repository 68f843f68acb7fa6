package password

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fast keeps unit tests quick; DefaultParams is exercised where it matters.
var fast = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

func TestHashFormat(t *testing.T) {
	h, err := Hash("correct horse", DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unexpected encoding %q", h)
	}
	parts := strings.Split(h, "$")
	if len(parts[4]) != 22 || len(parts[5]) != 43 { // 16 and 32 bytes, unpadded base64
		t.Fatalf("salt/key lengths %d/%d", len(parts[4]), len(parts[5]))
	}
	h2, _ := Hash("correct horse", DefaultParams)
	if h == h2 {
		t.Fatal("two hashes of one password must differ (random salt)")
	}
}

func TestVerify(t *testing.T) {
	h, err := Hash("s3cret pässword", DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	// One hash with the defaults (no rehash due); the cases below only
	// read it, so the suite stays quick under -race.
	tests := []struct {
		name    string
		pw      string
		enc     string
		ok      bool
		rehash  bool
		wantErr error
	}{
		{"right password", "s3cret pässword", h, true, false, nil},
		{"wrong password", "s3cret passw0rd", h, false, false, nil},
		{"case matters", "S3cret pässword", h, false, false, nil},
		{"empty password", "", h, false, false, ErrEmpty},
		{"too long password", strings.Repeat("a", MaxLength+1), h, false, false, ErrTooLong},
		{"malformed hash", "x", "$2a$10$bcrypt", false, false, ErrMalformed},
		{"tampered params", "x", strings.Replace(h, "m=19456", "m=99999999", 1), false, false, ErrMalformed},
		{"bad base64", "x", h[:len(h)-3] + "!!!", false, false, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := Verify(tt.pw, tt.enc)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.ok || rehash != tt.rehash {
				t.Fatalf("ok=%v rehash=%v, want %v %v", ok, rehash, tt.ok, tt.rehash)
			}
		})
	}
	t.Run("max length accepted", func(t *testing.T) {
		pw := strings.Repeat("b", MaxLength)
		h, err := Hash(pw, fast)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _, err := Verify(pw, h); !ok || err != nil {
			t.Fatalf("ok=%v err=%v", ok, err)
		}
	})
}

func TestRehash(t *testing.T) {
	weak, err := Hash("pw", fast)
	if err != nil {
		t.Fatal(err)
	}
	ok, rehash, err := Verify("pw", weak)
	if !ok || err != nil || !rehash {
		t.Fatalf("weak hash: ok=%v rehash=%v err=%v; want rehash", ok, rehash, err)
	}
	if !NeedsRehash(weak, DefaultParams) {
		t.Fatal("NeedsRehash against stronger params")
	}
	if NeedsRehash(weak, fast) {
		t.Fatal("NeedsRehash against the params it was made with")
	}
	if !NeedsRehash("garbage", fast) {
		t.Fatal("a malformed hash needs a rehash")
	}
	if _, err := Hash("", fast); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty hash: %v", err)
	}
	if _, err := Hash("x", Params{}); err == nil {
		t.Fatal("zero params must be refused")
	}
}

func TestVerifyDummyCostsLikeVerify(t *testing.T) {
	// Any parameters show the property; moderate ones keep -race quick.
	p := Params{MemoryKiB: 2048, Iterations: 2, Parallelism: 1}
	h, _ := Hash("pw", p)
	measure := func(f func()) time.Duration {
		best := time.Hour
		for range 5 {
			start := time.Now()
			f()
			if d := time.Since(start); d < best {
				best = d
			}
		}
		return best
	}
	real := measure(func() { _, _, _ = Verify("wrong", h) })
	dummy := measure(func() { VerifyDummy("wrong", p) })
	// Generous bounds: the race detector and a shared CPU add noise, but a
	// dummy that skipped the work would be orders of magnitude faster.
	if dummy < real/3 || dummy > real*3 {
		t.Fatalf("dummy verify %v vs real %v: should cost about the same", dummy, real)
	}
}

func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("correct horse battery staple", DefaultParams); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h, _ := Hash("correct horse battery staple", DefaultParams)
	for b.Loop() {
		if ok, _, _ := Verify("correct horse battery staple", h); !ok {
			b.Fatal("mismatch")
		}
	}
}

// TestConcurrencyIsBounded: however many logins arrive at once, at most
// GOMAXPROCS argon2id computations run together (Hash, Verify and
// VerifyDummy share the slots), and every caller still gets its answer.
func TestConcurrencyIsBounded(t *testing.T) {
	p := Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}
	hash, err := Hash("s3cret", p)
	if err != nil {
		t.Fatal(err)
	}
	peakInFlight.Store(0)
	limit := int64(cap(slots))
	var wg sync.WaitGroup
	results := make(chan bool, 12*limit)
	for i := range 12 * limit {
		wg.Go(func() {
			switch i % 3 {
			case 0:
				ok, _, err := Verify("s3cret", hash)
				results <- ok && err == nil
			case 1:
				_, err := Hash("other", p)
				results <- err == nil
			default:
				VerifyDummy("nobody", p)
				results <- true
			}
		})
	}
	wg.Wait()
	close(results)
	for ok := range results {
		if !ok {
			t.Fatal("a concurrent call failed")
		}
	}
	if peak := peakInFlight.Load(); peak < 1 || peak > limit {
		t.Fatalf("peak concurrent computations %d, want 1..%d", peak, limit)
	}
}
