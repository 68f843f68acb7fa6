package bench

import (
	"math"
	"slices"
	"time"
)

// recorder is one worker's private record; workers never share one, so the
// hot path takes no lock. Latencies are kept exactly (8 bytes each) and
// merged once at the end.
type recorder struct {
	ok     []time.Duration
	errors map[string]int64
}

func newRecorder() *recorder { return &recorder{errors: map[string]int64{}} }

func (r *recorder) success(d time.Duration) { r.ok = append(r.ok, d) }

func (r *recorder) failure(kind string) { r.errors[kind]++ }

// Latency is the distribution of successful iterations, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// merge combines the workers' records into the sorted latencies and the
// error counts.
func merge(rs []*recorder) (lat []time.Duration, errs map[string]int64, nerr int64) {
	n := 0
	for _, r := range rs {
		n += len(r.ok)
	}
	lat = make([]time.Duration, 0, n)
	errs = map[string]int64{}
	for _, r := range rs {
		lat = append(lat, r.ok...)
		for k, v := range r.errors {
			errs[k] += v
			nerr += v
		}
	}
	slices.Sort(lat)
	return lat, errs, nerr
}

// summarize computes exact percentiles by the nearest-rank method: pXX is
// the smallest sample with at least XX % of the samples at or below it.
// sorted must be ascending.
func summarize(sorted []time.Duration) Latency {
	if len(sorted) == 0 {
		return Latency{}
	}
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	return Latency{
		P50:  ms(percentile(sorted, 50)),
		P90:  ms(percentile(sorted, 90)),
		P99:  ms(percentile(sorted, 99)),
		Max:  ms(sorted[len(sorted)-1]),
		Mean: ms(sum / time.Duration(len(sorted))),
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(rank, 1)
	return sorted[min(rank, len(sorted))-1]
}

func ms(d time.Duration) float64 {
	// Three decimals (microseconds) are as precise as a network timing gets.
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}
