package app

import (
	"context"
	"fmt"
	"strconv"

	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

// UserFactors lists a user's second factors as shown to administrators
// (`users get --json`, GET /admin/users/{id}): kinds, names and dates,
// never a secret; enrolments not finished are left out.
func (s *Service) UserFactors(ctx context.Context, userID string) ([]FactorView, error) {
	fs, err := s.store.ListFactors(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list factors: %w", err)
	}
	out := []FactorView{}
	for _, f := range fs {
		if f.Confirmed {
			out = append(out, viewFactor(f))
		}
	}
	return out, nil
}

// UserDetail is the view of one user with its factors.
func (s *Service) UserDetail(ctx context.Context, u storage.User) (UserView, error) {
	v := NewUserView(u)
	fs, err := s.UserFactors(ctx, u.ID)
	if err != nil {
		return UserView{}, err
	}
	v.Factors = fs
	return v, nil
}

// ResetFactors removes every second factor and recovery code of a user
// (lost phone, lost keys) and lifts a lock of the second step, audited as
// mfa.reset, in one transaction. With SESAME_MFA=required or a client
// that requires two factors, the user enrols again at the next sign-in.
func (s *Service) ResetFactors(ctx context.Context, actor string, u storage.User) (int, error) {
	var n int
	err := s.inTx(ctx, func(ctx context.Context) error {
		var err error
		if n, err = s.store.DeleteUserFactors(ctx, u.ID); err != nil {
			return fmt.Errorf("delete factors: %w", err)
		}
		g := throttle.New(s.store, s.store, throttle.DefaultConfig(), s.now)
		if err := g.Unlock(ctx, throttle.FactorKey(u.ID)); err != nil {
			return err
		}
		return s.audit(ctx, actor, AuditMFAReset, "", u.ID, map[string]string{"removed": strconv.Itoa(n)})
	})
	return n, err
}
