package bench

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestSummarizeNearestRank(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sample []time.Duration
		want   Latency
	}{
		{"empty sample gives zeros", nil, Latency{}},
		{"single sample is every percentile", []time.Duration{7 * time.Millisecond}, Latency{P50: 7, P90: 7, P99: 7, Max: 7, Mean: 7}},
		{"1..100 ms gives the rank itself", hundred, Latency{P50: 50, P90: 90, P99: 99, Max: 100, Mean: 50.5}},
		{"ten samples: p99 is the largest", ms10(), Latency{P50: 5, P90: 9, P99: 10, Max: 10, Mean: 5.5}},
		{"outlier shows in max and p99 only", append(ones(99), time.Second), Latency{P50: 1, P90: 1, P99: 1, Max: 1000, Mean: 10.99}},
		{"microsecond precision is kept", []time.Duration{1500 * time.Microsecond, 2500 * time.Microsecond}, Latency{P50: 1.5, P90: 2.5, P99: 2.5, Max: 2.5, Mean: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Workers record in any order; merge must sort.
			shuffled := append([]time.Duration(nil), tc.sample...)
			rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			half := len(shuffled) / 2
			a, b := newRecorder(), newRecorder()
			a.ok, b.ok = shuffled[:half], shuffled[half:]
			lat, _, _ := merge([]*recorder{a, b})
			if got := summarize(lat); got != tc.want {
				t.Errorf("summarize = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMergeCountsErrorsByKind(t *testing.T) {
	a, b := newRecorder(), newRecorder()
	a.failure("400 invalid_grant")
	a.failure("timeout")
	b.failure("400 invalid_grant")
	b.success(time.Millisecond)
	lat, byKind, n := merge([]*recorder{a, b})
	if n != 3 || len(lat) != 1 {
		t.Fatalf("merge: %d errors, %d latencies; want 3 and 1", n, len(lat))
	}
	if byKind["400 invalid_grant"] != 2 || byKind["timeout"] != 1 || len(byKind) != 2 {
		t.Errorf("errors by kind = %v", byKind)
	}
}

func ms10() []time.Duration {
	s := make([]time.Duration, 10)
	for i := range s {
		s[i] = time.Duration(i+1) * time.Millisecond
	}
	return s
}

func ones(n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = time.Millisecond
	}
	return s
}
