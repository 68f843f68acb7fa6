package storagetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// brokenCalls lists one call of every Store method; after Break each must
// fail with an infrastructure error.
func brokenCalls(s storage.Store) []struct {
	name string
	call func(ctx context.Context) error
} {
	return []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Ping", func(ctx context.Context) error { return s.Ping(ctx) }},
		{"BeginTx", func(ctx context.Context) error {
			txCtx, err := s.BeginTx(ctx)
			if err == nil {
				// Some drivers only touch the connection on first use.
				_, err = s.GetUser(txCtx, "u-1")
				_ = s.Rollback(txCtx)
			}
			return err
		}},
		{"CreateUser", func(ctx context.Context) error { return s.CreateUser(ctx, user("u-new", "new")) }},
		{"GetUser", func(ctx context.Context) error { _, err := s.GetUser(ctx, "u-1"); return err }},
		{"GetUserByUsername", func(ctx context.Context) error { _, err := s.GetUserByUsername(ctx, "alice"); return err }},
		{"UpdateUser", func(ctx context.Context) error { return s.UpdateUser(ctx, user("u-1", "alicia")) }},
		{"DeleteUser", func(ctx context.Context) error { return s.DeleteUser(ctx, "u-1") }},
		{"RecordLogin", func(ctx context.Context) error { return s.RecordLogin(ctx, "u-1", base) }},
		{"ListUsers", func(ctx context.Context) error { _, _, err := s.ListUsers(ctx, storage.ListOptions{}); return err }},
		{"CountUsers", func(ctx context.Context) error { _, err := s.CountUsers(ctx); return err }},
		{"CreateGroup", func(ctx context.Context) error { return s.CreateGroup(ctx, group("g-new", "new")) }},
		{"GetGroup", func(ctx context.Context) error { _, err := s.GetGroup(ctx, "g-1"); return err }},
		{"GetGroupByName", func(ctx context.Context) error { _, err := s.GetGroupByName(ctx, "staff"); return err }},
		{"ListGroups", func(ctx context.Context) error { _, err := s.ListGroups(ctx); return err }},
		{"DeleteGroup", func(ctx context.Context) error { return s.DeleteGroup(ctx, "g-1") }},
		{"AddGroupMember", func(ctx context.Context) error { _, err := s.AddGroupMember(ctx, "g-1", "u-1", base); return err }},
		{"RemoveGroupMember", func(ctx context.Context) error { return s.RemoveGroupMember(ctx, "g-1", "u-1") }},
		{"ListGroupMembers", func(ctx context.Context) error { _, err := s.ListGroupMembers(ctx, "g-1"); return err }},
		{"ListUserGroups", func(ctx context.Context) error { _, err := s.ListUserGroups(ctx, "u-1"); return err }},
		{"CreateResource", func(ctx context.Context) error {
			return s.CreateResource(ctx, resource("r-new", "https://new.example.com"))
		}},
		{"GetResource", func(ctx context.Context) error { _, err := s.GetResource(ctx, "r-1"); return err }},
		{"GetResourceByURI", func(ctx context.Context) error {
			_, err := s.GetResourceByURI(ctx, "https://notes.example.com")
			return err
		}},
		{"ListResources", func(ctx context.Context) error { _, err := s.ListResources(ctx); return err }},
		{"UpdateResource", func(ctx context.Context) error {
			return s.UpdateResource(ctx, resource("r-1", "https://notes.example.com"))
		}},
		{"DeleteResource", func(ctx context.Context) error { return s.DeleteResource(ctx, "r-1") }},
		{"CreateFactor", func(ctx context.Context) error { return s.CreateFactor(ctx, totpFactor("f-new", "u-1")) }},
		{"GetFactor", func(ctx context.Context) error { _, err := s.GetFactor(ctx, "f-1"); return err }},
		{"GetFactorByCredentialID", func(ctx context.Context) error { _, err := s.GetFactorByCredentialID(ctx, "cred-A"); return err }},
		{"ListFactors", func(ctx context.Context) error { _, err := s.ListFactors(ctx, "u-1"); return err }},
		{"ConfirmFactor", func(ctx context.Context) error { return s.ConfirmFactor(ctx, "u-1", "f-1", 5, base) }},
		{"AdvanceFactorCounter", func(ctx context.Context) error { return s.AdvanceFactorCounter(ctx, "f-1", 5, base) }},
		{"RenameFactor", func(ctx context.Context) error { return s.RenameFactor(ctx, "u-1", "f-1", "x") }},
		{"DeleteFactor", func(ctx context.Context) error { return s.DeleteFactor(ctx, "u-1", "f-1") }},
		{"DeleteUserFactors", func(ctx context.Context) error { _, err := s.DeleteUserFactors(ctx, "u-1"); return err }},
		{"ReplaceRecoveryCodes", func(ctx context.Context) error { return s.ReplaceRecoveryCodes(ctx, "u-1", []string{"h"}, base) }},
		{"UseRecoveryCode", func(ctx context.Context) error { return s.UseRecoveryCode(ctx, "u-1", "h", base) }},
		{"CountRecoveryCodes", func(ctx context.Context) error { _, err := s.CountRecoveryCodes(ctx, "u-1"); return err }},
		{"CreateDeviceGrant", func(ctx context.Context) error { return s.CreateDeviceGrant(ctx, deviceGrant("new")) }},
		{"GetDeviceGrant", func(ctx context.Context) error { _, err := s.GetDeviceGrant(ctx, "dc-1"); return err }},
		{"GetDeviceGrantByUserCode", func(ctx context.Context) error { _, err := s.GetDeviceGrantByUserCode(ctx, "uc-1"); return err }},
		{"DecideDeviceGrant", func(ctx context.Context) error {
			_, err := s.DecideDeviceGrant(ctx, "uc-1", storage.DeviceDecision{State: storage.DeviceApproved, At: base})
			return err
		}},
		{"PollDeviceGrant", func(ctx context.Context) error {
			_, _, err := s.PollDeviceGrant(ctx, "dc-1", base, time.Second)
			return err
		}},
		{"RedeemDeviceGrant", func(ctx context.Context) error { return s.RedeemDeviceGrant(ctx, "dc-1") }},
		{"DeleteExpiredDeviceGrants", func(ctx context.Context) error { _, err := s.DeleteExpiredDeviceGrants(ctx, base, 10); return err }},
		{"CreateIdentity", func(ctx context.Context) error { return s.CreateIdentity(ctx, identity("up", "s-new", "u-1")) }},
		{"GetIdentity", func(ctx context.Context) error { _, err := s.GetIdentity(ctx, "up", "s-1"); return err }},
		{"ListUserIdentities", func(ctx context.Context) error { _, err := s.ListUserIdentities(ctx, "u-1"); return err }},
		{"UpdateIdentity", func(ctx context.Context) error { return s.UpdateIdentity(ctx, identity("up", "s-1", "u-1")) }},
		{"DeleteIdentity", func(ctx context.Context) error { return s.DeleteIdentity(ctx, "up", "s-1") }},
		{"FindUsersByEmail", func(ctx context.Context) error { _, err := s.FindUsersByEmail(ctx, "a@b.test"); return err }},
		{"CreateClient", func(ctx context.Context) error { return s.CreateClient(ctx, fullClient("c-new")) }},
		{"GetClient", func(ctx context.Context) error { _, err := s.GetClient(ctx, "c-1"); return err }},
		{"UpdateClient", func(ctx context.Context) error { return s.UpdateClient(ctx, fullClient("c-1")) }},
		{"DeleteClient", func(ctx context.Context) error { return s.DeleteClient(ctx, "c-1") }},
		{"ListClients", func(ctx context.Context) error { _, _, err := s.ListClients(ctx, storage.ListOptions{}); return err }},
		{"RotateClientSecret", func(ctx context.Context) error {
			return s.RotateClientSecret(ctx, "c-1", "hash-current-c-1", "h2", true, base)
		}},
		{"CreateToken", func(ctx context.Context) error {
			return s.CreateToken(ctx, token(storage.KindAccessToken, "sig-new", "req-1", base))
		}},
		{"CreateTokens", func(ctx context.Context) error {
			return s.CreateTokens(ctx, []storage.TokenRecord{
				token(storage.KindAccessToken, "sig-new-1", "req-1", base),
				token(storage.KindRefreshToken, "sig-new-2", "req-1", base),
			})
		}},
		{"GetToken", func(ctx context.Context) error { _, err := s.GetToken(ctx, storage.KindAccessToken, "sig"); return err }},
		{"DeleteToken", func(ctx context.Context) error { return s.DeleteToken(ctx, storage.KindAccessToken, "sig") }},
		{"DeactivateToken", func(ctx context.Context) error {
			return s.DeactivateToken(ctx, storage.KindAccessToken, "sig", base, nil)
		}},
		{"DeactivateByRequestID", func(ctx context.Context) error {
			_, err := s.DeactivateByRequestID(ctx, storage.KindAccessToken, "req-1")
			return err
		}},
		{"DeleteByRequestID", func(ctx context.Context) error {
			_, err := s.DeleteByRequestID(ctx, storage.KindAccessToken, "req-1")
			return err
		}},
		{"ListByRequestID", func(ctx context.Context) error {
			_, err := s.ListByRequestID(ctx, storage.KindAccessToken, "req-1")
			return err
		}},
		{"DeleteExpiredTokens", func(ctx context.Context) error { _, err := s.DeleteExpiredTokens(ctx, base, 10); return err }},
		{"CreateGrant", func(ctx context.Context) error { return s.CreateGrant(ctx, grant("req-new", "u1", "c1")) }},
		{"GetGrant", func(ctx context.Context) error { _, err := s.GetGrant(ctx, "req-1"); return err }},
		{"LockGrant", func(ctx context.Context) error { return s.LockGrant(ctx, "req-1") }},
		{"TouchGrant", func(ctx context.Context) error { return s.TouchGrant(ctx, "req-1", base, at(time.Hour)) }},
		{"RevokeGrant", func(ctx context.Context) error { return s.RevokeGrant(ctx, "req-1", "x", base) }},
		{"RevokeGrants", func(ctx context.Context) error {
			_, err := s.RevokeGrants(ctx, storage.GrantFilter{Subject: "u1"}, "x", base)
			return err
		}},
		{"RevokeGrants of a client", func(ctx context.Context) error {
			_, err := s.RevokeGrants(ctx, storage.GrantFilter{ClientID: "c1"}, "x", base)
			return err
		}},
		{"RevokeClientTokens", func(ctx context.Context) error { return s.RevokeClientTokens(ctx, "c-1", at(time.Hour)) }},
		{"ClientTokensRevokedAt", func(ctx context.Context) error { _, err := s.ClientTokensRevokedAt(ctx, "c-1"); return err }},
		{"ListGrants", func(ctx context.Context) error { _, err := s.ListGrants(ctx, storage.GrantFilter{}); return err }},
		{"DeleteExpiredGrants", func(ctx context.Context) error { _, err := s.DeleteExpiredGrants(ctx, base, 10); return err }},
		{"ClaimNonce", func(ctx context.Context) error {
			return s.ClaimNonce(ctx, storage.NonceClientAssertion, "jti", time.Now().Add(time.Hour))
		}},
		{"NonceExists", func(ctx context.Context) error {
			_, err := s.NonceExists(ctx, storage.NonceClientAssertion, "jti", base)
			return err
		}},
		{"DeleteExpiredNonces", func(ctx context.Context) error { _, err := s.DeleteExpiredNonces(ctx, base, 10); return err }},
		{"CreateKey", func(ctx context.Context) error { return s.CreateKey(ctx, pendingKey("k-new", "ES256", base)) }},
		{"GetKey", func(ctx context.Context) error { _, err := s.GetKey(ctx, "k1"); return err }},
		{"ListKeys", func(ctx context.Context) error { _, err := s.ListKeys(ctx); return err }},
		{"ActivateKey", func(ctx context.Context) error { return s.ActivateKey(ctx, "k1", "", base, at(time.Hour)) }},
		{"DeleteKey", func(ctx context.Context) error { return s.DeleteKey(ctx, "k1") }},
		{"CreateSession", func(ctx context.Context) error { return s.CreateSession(ctx, loginSession("s-new", "u1")) }},
		{"GetSession", func(ctx context.Context) error { _, err := s.GetSession(ctx, "s-1"); return err }},
		{"RevokeSession", func(ctx context.Context) error { return s.RevokeSession(ctx, "s-1", base) }},
		{"ExtendSession", func(ctx context.Context) error { return s.ExtendSession(ctx, "s-1", base) }},
		{"RevokeUserSessions", func(ctx context.Context) error { _, err := s.RevokeUserSessions(ctx, "u1", base); return err }},
		{"ListUserSessions", func(ctx context.Context) error { _, err := s.ListUserSessions(ctx, "u1", base); return err }},
		{"DeleteUserLinkTokens", func(ctx context.Context) error {
			_, err := s.DeleteUserLinkTokens(ctx, "u1", storage.LinkChangeEmail)
			return err
		}},
		{"DeleteExpiredSessions", func(ctx context.Context) error { _, err := s.DeleteExpiredSessions(ctx, base, 10); return err }},
		{"UpsertConsent", func(ctx context.Context) error { return s.UpsertConsent(ctx, consent("u1", "c1")) }},
		{"GetConsent", func(ctx context.Context) error { _, err := s.GetConsent(ctx, "u1", "c1"); return err }},
		{"ListConsents", func(ctx context.Context) error { _, err := s.ListConsents(ctx, "u1"); return err }},
		{"DeleteConsent", func(ctx context.Context) error { return s.DeleteConsent(ctx, "u1", "c1") }},
		{"DeleteConsentsByClient", func(ctx context.Context) error { _, err := s.DeleteConsentsByClient(ctx, "c1"); return err }},
		{"CreateFlow", func(ctx context.Context) error { return s.CreateFlow(ctx, flow("f-new")) }},
		{"GetFlow", func(ctx context.Context) error { _, err := s.GetFlow(ctx, "f1"); return err }},
		{"UpdateFlowState", func(ctx context.Context) error { return s.UpdateFlowState(ctx, flow("f1"), "login") }},
		{"DeleteFlow", func(ctx context.Context) error { return s.DeleteFlow(ctx, "f1") }},
		{"DeleteExpiredFlows", func(ctx context.Context) error { _, err := s.DeleteExpiredFlows(ctx, base, 10); return err }},
		{"AppendAudit", func(ctx context.Context) error { return s.AppendAudit(ctx, event("x", base)) }},
		{"ListAudit", func(ctx context.Context) error { _, _, err := s.ListAudit(ctx, storage.AuditFilter{}); return err }},
		{"DeleteAuditBefore", func(ctx context.Context) error { _, err := s.DeleteAuditBefore(ctx, base, 10); return err }},
		{"CreateRegistrationToken", func(ctx context.Context) error {
			return s.CreateRegistrationToken(ctx, regToken("rt-new", 1, at(time.Hour)))
		}},
		{"UseRegistrationToken", func(ctx context.Context) error { _, err := s.UseRegistrationToken(ctx, "rt-1", base); return err }},
		{"ListRegistrationTokens", func(ctx context.Context) error { _, err := s.ListRegistrationTokens(ctx); return err }},
		{"DeleteRegistrationToken", func(ctx context.Context) error { return s.DeleteRegistrationToken(ctx, "rt-1") }},
		{"RecordFailure", func(ctx context.Context) error { _, err := s.RecordFailure(ctx, "k", base, at(-window)); return err }},
		{"SetLock", func(ctx context.Context) error { return s.SetLock(ctx, "k", at(time.Hour)) }},
		{"GetFailures", func(ctx context.Context) error { _, err := s.GetFailures(ctx, "k"); return err }},
		{"ResetFailures", func(ctx context.Context) error { return s.ResetFailures(ctx, "k") }},
		{"DeleteStaleCounters", func(ctx context.Context) error { _, err := s.DeleteStaleCounters(ctx, base, 10); return err }},
		{"InTx", func(ctx context.Context) error {
			return storage.InTx(ctx, s, func(ctx context.Context) error { return s.CreateUser(ctx, user("u-tx", "tx")) })
		}},
	}
}

// safely runs call with a deadline and turns a panic into an error that
// names it.
func safely(call func(ctx context.Context) error) (err error, panicked bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err, panicked = fmt.Errorf("panic: %v", p), true
		}
	}()
	return call(ctx), false
}

// infraErr reports unless err is a plain infrastructure error.
func infraErr(t *testing.T, what string, err error, panicked bool) {
	t.Helper()
	switch {
	case panicked:
		t.Errorf("%s on a broken database panicked: %v", what, err)
	case err == nil:
		t.Errorf("%s on a broken database returned nil", what)
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrConflict):
		// A sentinel here would make callers act on a protocol outcome
		// (invalid_grant, "user unknown") during an outage.
		t.Errorf("%s on a broken database returned a storage sentinel: %v", what, err)
	}
}

func testDatabaseGone(t *testing.T, h Harness) {
	t.Run("every call fails with a plain error", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.Ping(ctx), "Ping before the break")
		// Rows the calls would find, so a backend that still reached the
		// data could not pass by answering "not found".
		ok(t, s.CreateUser(ctx, user("u-1", "alice")), "CreateUser")
		ok(t, s.CreateClient(ctx, fullClient("c-1")), "CreateClient")
		ok(t, s.CreateToken(ctx, token(storage.KindAccessToken, "sig", "req-1", base)), "CreateToken")
		ok(t, s.RevokeClientTokens(ctx, "c-1", base), "RevokeClientTokens")
		h.Break(t, s)
		// The calls are independent, so they run together: each may wait
		// for a refused connection, which adds up over some sixty methods.
		calls := brokenCalls(s)
		type outcome struct {
			err      error
			panicked bool
		}
		res := make([]outcome, len(calls))
		contend(len(calls), func(i int) error {
			res[i].err, res[i].panicked = safely(calls[i].call)
			return nil
		})
		for i, c := range calls {
			infraErr(t, c.name, res[i].err, res[i].panicked)
		}
	})

	t.Run("a transaction cut off midway leaves nothing half-written", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u-before", "before")), "CreateUser before the transaction")
		// Break runs on the test goroutine (it may call t.Fatal), so a
		// deadlock between it and the open transaction cannot be waited
		// out; the watchdog turns it into a crash that names the cause
		// instead of a silent hang until go test's timeout.
		watchdog := time.AfterFunc(60*time.Second, func() {
			panic("storagetest: InTx with the database broken midway did not return within 60s (Break or the backend deadlocks on an open transaction)")
		})
		defer watchdog.Stop()
		txErr, panicked := safely(func(ctx context.Context) error {
			return storage.InTx(ctx, s, func(ctx context.Context) error {
				if err := s.CreateUser(ctx, user("u-1", "alice")); err != nil {
					return fmt.Errorf("first write failed before the break: %w", err)
				}
				h.Break(t, s)
				if err := s.CreateClient(ctx, fullClient("c-1")); err != nil {
					return err
				}
				return s.CreateToken(ctx, token(storage.KindRefreshToken, "sig", "req-1", base))
			})
		})
		watchdog.Stop()
		if panicked {
			t.Fatalf("InTx with the database broken midway panicked: %v", txErr)
		}
		if txErr != nil && (errors.Is(txErr, storage.ErrNotFound) || errors.Is(txErr, storage.ErrConflict)) {
			t.Errorf("InTx with the database broken midway returned a storage sentinel: %v", txErr)
		}

		fresh := h.Reopen(t, s)
		rctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		ok(t, fresh.Ping(rctx), "Ping on the reopened store")
		_, err := fresh.GetUser(rctx, "u-before")
		ok(t, err, "GetUser of the row committed before the transaction, on a fresh store")
		_, userErr := fresh.GetUser(rctx, "u-1")
		_, clientErr := fresh.GetClient(rctx, "c-1")
		_, tokenErr := fresh.GetToken(rctx, storage.KindRefreshToken, "sig")
		found := 0
		for _, e := range []error{userErr, clientErr, tokenErr} {
			switch {
			case e == nil:
				found++
			case !errors.Is(e, storage.ErrNotFound):
				t.Fatalf("reading back on a fresh store: %v", e)
			}
		}
		switch {
		case txErr == nil && found != 3:
			t.Errorf("InTx reported a commit but only %d of its 3 writes exist", found)
		case txErr != nil && found != 0:
			t.Errorf("InTx failed (%v) but %d of its 3 writes exist: half-written", txErr, found)
		default:
			t.Logf("InTx with the database broken midway: err=%v, %d of 3 writes present", txErr, found)
		}
	})
}
