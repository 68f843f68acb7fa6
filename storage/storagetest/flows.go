package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

func flow(id string) storage.AuthFlow {
	return storage.AuthFlow{
		ID:        id,
		ClientID:  "client-1",
		State:     "login",
		Request:   append([]byte("authorize:"), binary...),
		CreatedAt: base.In(zone),
		ExpiresAt: at(10 * time.Minute),
	}
}

func getFlow(t *testing.T, s storage.Store, id string) storage.AuthFlow {
	t.Helper()
	f, err := s.GetFlow(t.Context(), id)
	ok(t, err, "GetFlow "+id)
	return f
}

func testFlows(t *testing.T, h Harness) {
	t.Run("create, get, delete", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		want := flow("f1")
		ok(t, s.CreateFlow(ctx, want), "CreateFlow")
		checkRecord(t, "flow", want, getFlow(t, s, "f1"))
		_, err := s.GetFlow(ctx, "nope")
		wantErr(t, err, storage.ErrNotFound, "GetFlow of a missing flow")
		ok(t, s.DeleteFlow(ctx, "f1"), "DeleteFlow")
		_, err = s.GetFlow(ctx, "f1")
		wantErr(t, err, storage.ErrNotFound, "GetFlow after delete")
	})

	t.Run("state transition from the current state succeeds, from a stale state conflicts", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		orig := flow("f1")
		ok(t, s.CreateFlow(ctx, orig), "CreateFlow")
		next := orig
		next.UserID, next.SessionID, next.State, next.Request = "user-1", "sess-1", "consent", []byte("after-login")
		ok(t, s.UpdateFlowState(ctx, next, "login"), "UpdateFlowState login→consent")
		checkRecord(t, "flow after login", next, getFlow(t, s, "f1"))

		replay := orig
		replay.UserID, replay.State = "user-2", "consent"
		wantErr(t, s.UpdateFlowState(ctx, replay, "login"), storage.ErrConflict, "replayed UpdateFlowState from login")
		checkRecord(t, "flow after the replay", next, getFlow(t, s, "f1"))

		done := next
		done.State = "done"
		ok(t, s.UpdateFlowState(ctx, done, "consent"), "UpdateFlowState consent→done")
		checkRecord(t, "flow when done", done, getFlow(t, s, "f1"))

		missing := flow("nope")
		wantErr(t, s.UpdateFlowState(ctx, missing, "login"), storage.ErrNotFound, "UpdateFlowState of a missing flow")
	})

	t.Run("concurrent transitions: exactly one of 8 wins", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateFlow(ctx, flow("f1")), "CreateFlow")
		errs := contend(8, func(i int) error {
			f := flow("f1")
			f.UserID, f.State = fmt.Sprintf("user-%d", i), fmt.Sprintf("consent-%d", i)
			return s.UpdateFlowState(ctx, f, "login")
		})
		w := oneWinner(t, errs, storage.ErrConflict, "UpdateFlowState")
		if got := getFlow(t, s, "f1"); w >= 0 && (got.State != fmt.Sprintf("consent-%d", w) || got.UserID != fmt.Sprintf("user-%d", w)) {
			t.Errorf("flow is %q/%q, want the winner's consent-%d/user-%d", got.State, got.UserID, w, w)
		}
	})

	t.Run("delete expired honours before and the batch limit", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		exps := []time.Time{at(-time.Hour).In(zone), at(-time.Second), at(-48 * time.Hour), at(time.Hour), at(time.Minute).In(zone)}
		for i, exp := range exps {
			f := flow(fmt.Sprintf("f%d", i))
			f.ExpiresAt = exp
			ok(t, s.CreateFlow(ctx, f), "CreateFlow")
		}
		for round, want := range []int{2, 1, 0} {
			n, err := s.DeleteExpiredFlows(ctx, base, 2)
			wantCount(t, n, err, want, fmt.Sprintf("DeleteExpiredFlows limit 2, round %d", round+1))
		}
		for i := range exps {
			_, err := s.GetFlow(ctx, fmt.Sprintf("f%d", i))
			if i < 3 {
				wantErr(t, err, storage.ErrNotFound, fmt.Sprintf("GetFlow of expired f%d", i))
			} else if err != nil {
				t.Errorf("GetFlow of unexpired f%d: %v", i, err)
			}
		}
	})
}
