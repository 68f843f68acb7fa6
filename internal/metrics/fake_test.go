package metrics_test

import (
	"context"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// metricsThrottle answers every call with success.
type metricsThrottle struct{}

func (metricsThrottle) RecordFailure(_ context.Context, key string, at, _ time.Time) (storage.FailureCounter, error) {
	return storage.FailureCounter{Key: key, Failures: 1, FirstAt: at, LastAt: at}, nil
}
func (metricsThrottle) SetLock(context.Context, string, time.Time) error { return nil }
func (metricsThrottle) GetFailures(context.Context, string) (storage.FailureCounter, error) {
	return storage.FailureCounter{}, storage.ErrNotFound
}
func (metricsThrottle) ResetFailures(context.Context, string) error { return nil }
func (metricsThrottle) DeleteStaleCounters(context.Context, time.Time, int) (int, error) {
	return 0, nil
}
