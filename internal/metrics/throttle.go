package metrics

import (
	"context"
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// ThrottleStore wraps the store the brute-force guard (internal/throttle)
// writes its counters to, counting each recorded failure and each lock by
// the kind of counter key (user:, client:, ip:). Counting at the store
// keeps the guard free of metrics code and sees every caller of it.
func (m *Metrics) ThrottleStore(s storage.ThrottleStore) storage.ThrottleStore {
	return &throttleStore{ThrottleStore: s, m: m}
}

type throttleStore struct {
	storage.ThrottleStore
	m *Metrics
}

// keyKind is the counter key's prefix, bounded to known kinds.
func keyKind(key string) string {
	kind, _, _ := strings.Cut(key, ":")
	switch kind {
	case "user", "client", "ip":
		return kind
	}
	return "other"
}

func (t *throttleStore) RecordFailure(ctx context.Context, key string, at, resetBefore time.Time) (storage.FailureCounter, error) {
	c, err := t.ThrottleStore.RecordFailure(ctx, key, at, resetBefore)
	if err == nil {
		t.m.authFailures.WithLabelValues(keyKind(key)).Inc()
	}
	return c, err
}

func (t *throttleStore) SetLock(ctx context.Context, key string, until time.Time) error {
	err := t.ThrottleStore.SetLock(ctx, key, until)
	if err == nil {
		t.m.locks.WithLabelValues(keyKind(key)).Inc()
	}
	return err
}
