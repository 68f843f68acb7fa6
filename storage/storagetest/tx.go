package storagetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// errBoom is the error the transaction tests return to force a rollback.
var errBoom = errors.New("storagetest: boom")

// absent checks that neither the user nor the client exists.
func absent(t *testing.T, s storage.Store, userID, clientID, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := s.GetUser(ctx, userID)
	wantErr(t, err, storage.ErrNotFound, what+": user "+userID)
	_, err = s.GetClient(ctx, clientID)
	wantErr(t, err, storage.ErrNotFound, what+": client "+clientID)
}

// usable checks that the store still serves writes after a transaction
// ended: a leaked transaction or connection would make this time out (a
// deadline, not a hang, so the failure names the cause).
func usable(t *testing.T, s storage.Store, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ok(t, s.CreateUser(ctx, user(id, id)), "CreateUser after the transaction (is a connection or lock leaked?)")
	_, err := s.GetUser(ctx, id)
	ok(t, err, "GetUser after the transaction")
}

func testTransactions(t *testing.T, h Harness) {
	t.Run("commit persists and reads inside see the writes", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		err := storage.InTx(ctx, s, func(ctx context.Context) error {
			if err := s.CreateUser(ctx, user("u-1", "alice")); err != nil {
				return err
			}
			if err := s.CreateClient(ctx, fullClient("c-1")); err != nil {
				return err
			}
			if _, err := s.GetUser(ctx, "u-1"); err != nil {
				return err
			}
			_, err := s.GetUserByUsername(ctx, "ALICE")
			return err
		})
		ok(t, err, "InTx")
		_, err = s.GetUser(ctx, "u-1")
		ok(t, err, "GetUser after commit")
		_, err = s.GetClient(ctx, "c-1")
		ok(t, err, "GetClient after commit")
	})

	t.Run("an error rolls every write back", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		err := storage.InTx(ctx, s, func(ctx context.Context) error {
			if err := s.CreateUser(ctx, user("u-1", "alice")); err != nil {
				return err
			}
			if err := s.CreateClient(ctx, fullClient("c-1")); err != nil {
				return err
			}
			return errBoom
		})
		wantErr(t, err, errBoom, "InTx returning an error")
		absent(t, s, "u-1", "c-1", "after rollback")
		usable(t, s, "u-after")
	})

	t.Run("a panic rolls back and is re-raised", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		var recovered any
		func() {
			defer func() { recovered = recover() }()
			_ = storage.InTx(ctx, s, func(ctx context.Context) error {
				if err := s.CreateUser(ctx, user("u-1", "alice")); err != nil {
					return err
				}
				if err := s.CreateClient(ctx, fullClient("c-1")); err != nil {
					return err
				}
				panic(errBoom)
			})
		}()
		if recovered != errBoom {
			t.Errorf("recovered %v, want the panic value re-raised", recovered)
		}
		absent(t, s, "u-1", "c-1", "after panic")
		usable(t, s, "u-after")
	})

	t.Run("a unique violation inside a transaction conflicts and keeps nothing", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u-taken", "taken")), "CreateUser")
		var inner error
		err := storage.InTx(ctx, s, func(ctx context.Context) error {
			if err := s.CreateUser(ctx, user("u-1", "alice")); err != nil {
				return err
			}
			if err := s.CreateClient(ctx, fullClient("c-1")); err != nil {
				return err
			}
			inner = s.CreateUser(ctx, user("u-2", "TAKEN"))
			return inner
		})
		wantErr(t, inner, storage.ErrConflict, "CreateUser with a taken username inside the transaction")
		wantErr(t, err, storage.ErrConflict, "InTx")
		absent(t, s, "u-1", "c-1", "after the conflicting transaction")
		usable(t, s, "u-after")
	})

	t.Run("nested begin is a no-op: inner commit does not commit early", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		outer, err := s.BeginTx(ctx)
		ok(t, err, "outer BeginTx")
		inner, err := s.BeginTx(outer)
		ok(t, err, "inner BeginTx")
		ok(t, s.CreateUser(inner, user("u-1", "alice")), "CreateUser in the inner transaction")
		ok(t, s.CreateClient(outer, fullClient("c-1")), "CreateClient in the outer transaction")
		ok(t, s.Commit(inner), "inner Commit")
		// Still one transaction: both writes are visible through it.
		_, err = s.GetClient(inner, "c-1")
		ok(t, err, "GetClient through the inner context after the inner commit")
		ok(t, s.Rollback(outer), "outer Rollback")
		absent(t, s, "u-1", "c-1", "after the outer rollback")
		usable(t, s, "u-after")
	})

	t.Run("nested begin is a no-op: inner rollback does not roll back", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		err := storage.InTx(ctx, s, func(ctx context.Context) error {
			if err := s.CreateUser(ctx, user("u-1", "alice")); err != nil {
				return err
			}
			// A nested InTx whose work fails: its rollback must leave the
			// outer transaction (and the user above) alone.
			innerErr := storage.InTx(ctx, s, func(ctx context.Context) error {
				if err := s.CreateClient(ctx, fullClient("c-1")); err != nil {
					return err
				}
				return errBoom
			})
			if !errors.Is(innerErr, errBoom) {
				return innerErr
			}
			return nil
		})
		ok(t, err, "outer InTx")
		_, err = s.GetUser(ctx, "u-1")
		ok(t, err, "GetUser after the outer commit")
		// The nested rollback was a no-op, so the client written through
		// the shared transaction was committed by the outer owner.
		_, err = s.GetClient(ctx, "c-1")
		ok(t, err, "GetClient after the outer commit")
	})

	t.Run("InTransaction tells whether the context carries this store's transaction", func(t *testing.T) {
		s, other, ctx := h.New(t), h.New(t), t.Context()
		if s.InTransaction(ctx) {
			t.Error("InTransaction of a context without a transaction is true")
		}
		txCtx, err := s.BeginTx(ctx)
		ok(t, err, "BeginTx")
		if !s.InTransaction(txCtx) {
			t.Error("InTransaction of the context BeginTx returned is false")
		}
		if s.InTransaction(ctx) {
			t.Error("InTransaction of the context given to BeginTx is true")
		}
		// Another store (another database) must not take the transaction
		// for its own: work it sends elsewhere would escape the rollback.
		if other.InTransaction(txCtx) {
			t.Error("InTransaction of another store's transaction is true")
		}
		ok(t, s.Rollback(txCtx), "Rollback")

		err = storage.InTx(ctx, s, func(ctx context.Context) error {
			if !s.InTransaction(ctx) {
				t.Error("InTransaction inside InTx is false")
			}
			return storage.InTx(ctx, s, func(ctx context.Context) error {
				if !s.InTransaction(ctx) {
					t.Error("InTransaction inside a nested InTx is false")
				}
				return nil
			})
		})
		ok(t, err, "InTx")
		usable(t, s, "u-after")
	})

	t.Run("RevocationEpoch changes after every committed revoking write", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateGrant(ctx, grant("g-e1", "u", "c")), "CreateGrant")
		ok(t, s.CreateGrant(ctx, grant("g-e2", "u", "c")), "CreateGrant")
		ok(t, s.CreateToken(ctx, storage.TokenRecord{Kind: storage.KindAccessToken, Signature: "at-e", RequestID: "g-e2",
			ClientID: "c", Active: true, RequestedAt: base, ExpiresAt: at(time.Hour)}), "CreateToken")
		writes := []struct {
			name string
			do   func(ctx context.Context) error
		}{
			{"RevokeGrant", func(ctx context.Context) error { return s.RevokeGrant(ctx, "g-e1", "r", base) }},
			{"RevokeGrants", func(ctx context.Context) error {
				_, err := s.RevokeGrants(ctx, storage.GrantFilter{Subject: "u"}, "r", base)
				return err
			}},
			{"RevokeGrants by client", func(ctx context.Context) error {
				_, err := s.RevokeGrants(ctx, storage.GrantFilter{ClientID: "c"}, "r", base)
				return err
			}},
			{"RevokeClientTokens", func(ctx context.Context) error { return s.RevokeClientTokens(ctx, "c2", base) }},
			{"ClaimNonce (denylist)", func(ctx context.Context) error {
				return s.ClaimNonce(ctx, storage.NonceJWTDenylist, fmt.Sprint("jti-", time.Now().UnixNano()), at(time.Hour))
			}},
			{"DeactivateByRequestID (access)", func(ctx context.Context) error {
				_, err := s.DeactivateByRequestID(ctx, storage.KindAccessToken, "g-e2")
				return err
			}},
			{"DeleteByRequestID (access)", func(ctx context.Context) error {
				_, err := s.DeleteByRequestID(ctx, storage.KindAccessToken, "g-e2")
				return err
			}},
			{"DeleteToken (access)", func(ctx context.Context) error {
				return s.DeleteToken(ctx, storage.KindAccessToken, "at-e")
			}},
		}
		for _, w := range writes {
			before := s.RevocationEpoch()
			ok(t, w.do(ctx), w.name)
			if s.RevocationEpoch() == before {
				t.Errorf("%s outside a transaction: epoch unchanged", w.name)
			}
			// Inside a transaction: changed once it committed (a reader
			// that cached before the commit must not be trusted after).
			txCtx, err := s.BeginTx(ctx)
			ok(t, err, "BeginTx")
			ok(t, w.do(txCtx), w.name+" in a transaction")
			mid := s.RevocationEpoch()
			ok(t, s.Commit(txCtx), "Commit")
			if s.RevocationEpoch() == mid {
				t.Errorf("%s in a transaction: epoch unchanged by its commit", w.name)
			}
		}
	})
}
