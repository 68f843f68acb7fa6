package keys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// supersededGrace: a pending key created before the current active key was
// activated is a leftover of a lost race and is deleted, but only once it is
// this old, so that clock skew between instances cannot delete a key
// another instance is activating right now.
const supersededGrace = time.Minute

// Rotate replaces the active key of alg now: a new key is created pending
// and activated at once; the previous key is retired and stays published
// for RetainAfterRetire. If another instance rotates alg at the same time,
// exactly one new key wins and both callers get its Info.
//
// Manual rotation skips the PublishLead wait (it is meant for "this key may
// have leaked"); relying parties that cached the JWKS refetch it on an
// unknown kid.
func (m *Manager) Rotate(ctx context.Context, alg string) (Info, error) {
	if err := m.checkInUse(alg); err != nil {
		return Info{}, err
	}
	m.rotMu.Lock()
	defer m.rotMu.Unlock()
	return m.rotate(ctx, alg)
}

// RotateAll rotates every algorithm in use, in Options.Algorithms order. On
// error it returns the keys rotated so far.
func (m *Manager) RotateAll(ctx context.Context) ([]Info, error) {
	m.rotMu.Lock()
	defer m.rotMu.Unlock()
	out := make([]Info, 0, len(m.opts.Algorithms))
	for _, alg := range m.opts.Algorithms {
		info, err := m.rotate(ctx, alg)
		if err != nil {
			return out, err
		}
		out = append(out, info)
	}
	return out, nil
}

func (m *Manager) checkInUse(alg string) error {
	if !IsSupported(alg) {
		return fmt.Errorf("%w %q", ErrUnsupportedAlgorithm, alg)
	}
	if !slices.Contains(m.opts.Algorithms, alg) {
		return fmt.Errorf("%w: %s", ErrAlgorithmNotInUse, alg)
	}
	return nil
}

func (m *Manager) rotate(ctx context.Context, alg string) (Info, error) {
	if err := m.Reload(ctx); err != nil {
		return Info{}, err
	}
	prevKID := ""
	if a := m.snap.Load().active[alg]; a != nil {
		prevKID = a.KID
	}
	row, err := m.createPending(ctx, alg)
	if err != nil {
		return Info{}, err
	}
	err = m.activate(ctx, row.KID, alg, prevKID)
	if err != nil && !lostRace(err) {
		// The pending key stays published and is used by the next
		// rotation; nothing has signed with it.
		return Info{}, err
	}
	if err := m.Reload(ctx); err != nil {
		return Info{}, err
	}
	cur := m.snap.Load().active[alg]
	if cur == nil || cur.KID == prevKID {
		if err == nil {
			err = errors.New("the store still shows the previous active key")
		}
		return Info{}, fmt.Errorf("keys: rotate %s: key %s was not activated: %w", alg, row.KID, err)
	}
	if err == nil {
		// Ours was activated (even if yet another rotation followed).
		return m.info(row.KID)
	}
	if cur.KID != row.KID {
		// Another instance rotated concurrently; its key counts as this
		// rotation (rotating twice would only shorten the old key's life).
		m.log.Info("concurrent rotation won by another instance", "alg", alg, "kid", cur.KID, "discarded", row.KID)
		if err := m.discardPending(ctx, row.KID, "lost rotation race"); err != nil {
			return Info{}, err
		}
	}
	return m.info(cur.KID)
}

func (m *Manager) info(kid string) (Info, error) {
	for _, r := range m.snap.Load().rows {
		if r.KID == kid {
			return infoOf(r), nil
		}
	}
	return Info{}, fmt.Errorf("keys: key %s vanished from the store", kid)
}

// lostRace reports whether an ActivateKey error means another instance
// changed the keys first (not an infrastructure failure).
func lostRace(err error) bool {
	return errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound)
}

// bootstrap gives every algorithm in use an active key (first start).
func (m *Manager) bootstrap(ctx context.Context) error {
	m.rotMu.Lock()
	defer m.rotMu.Unlock()
	for _, alg := range m.opts.Algorithms {
		if m.snap.Load().active[alg] != nil {
			continue
		}
		if err := m.ensureActive(ctx, alg); err != nil {
			return err
		}
	}
	return nil
}

// ensureActive activates a key for alg, which has none. An existing pending
// key is preferred (it is already published); otherwise one is created.
func (m *Manager) ensureActive(ctx context.Context, alg string) error {
	kid, created := "", false
	if p := pendingOf(m.snap.Load().rows, alg); len(p) > 0 {
		kid = p[0].KID
	} else {
		row, err := m.createPending(ctx, alg)
		if err != nil {
			return err
		}
		kid, created = row.KID, true
	}
	actErr := m.activate(ctx, kid, alg, "")
	if actErr != nil && !lostRace(actErr) {
		return actErr
	}
	if err := m.Reload(ctx); err != nil {
		return err
	}
	cur := m.snap.Load().active[alg]
	if cur == nil {
		if actErr == nil {
			actErr = errors.New("the store shows no active key")
		}
		return fmt.Errorf("keys: no active %s key after activating %s: %w", alg, kid, actErr)
	}
	if created && actErr != nil && cur.KID != kid {
		// Another instance started at the same time and won.
		return m.discardPending(ctx, kid, "lost first-start race")
	}
	return nil
}

// discardPending deletes a key this Manager created and failed to activate,
// if the freshly reloaded store still shows it pending: a key that became
// active may have signed tokens and must go through retirement instead.
// (KeyStore has no conditional delete, so a key activated by another
// instance between the reload and the delete is not excluded; that needs
// its automatic rotation to pick this very key within that window.)
func (m *Manager) discardPending(ctx context.Context, kid, reason string) error {
	for _, r := range m.snap.Load().rows {
		if r.KID != kid {
			continue
		}
		if r.State != storage.KeyPending {
			return nil
		}
		if err := m.deleteKey(ctx, kid, reason); err != nil {
			return err
		}
		return m.Reload(ctx)
	}
	return nil
}

// pendingOf returns the pending keys of alg, oldest first (rows are sorted).
func pendingOf(rows []storage.SigningKey, alg string) []storage.SigningKey {
	var out []storage.SigningKey
	for _, r := range rows {
		if r.Alg == alg && r.State == storage.KeyPending {
			out = append(out, r)
		}
	}
	return out
}

func (m *Manager) createPending(ctx context.Context, alg string) (storage.SigningKey, error) {
	row, mat, err := newKey(m.ring, alg, m.opts.RSABits, m.opts.Now())
	if err != nil {
		return storage.SigningKey{}, err
	}
	if err := m.store.CreateKey(ctx, row); err != nil {
		return storage.SigningKey{}, fmt.Errorf("keys: store new %s key %s: %w", alg, row.KID, err)
	}
	// Seed the cache so the next reload does not decrypt what we just made.
	m.loadMu.Lock()
	m.cache[row.KID] = mat
	m.loadMu.Unlock()
	m.log.Info("signing key created", "kid", row.KID, "alg", alg, "state", storage.KeyPending)
	m.changed()
	return row, nil
}

func (m *Manager) activate(ctx context.Context, kid, alg, prevKID string) error {
	now := m.opts.Now().UTC().Truncate(time.Microsecond)
	if err := m.store.ActivateKey(ctx, kid, prevKID, now, now.Add(m.opts.RetainAfterRetire)); err != nil {
		return fmt.Errorf("keys: activate %s key %s (replacing %q): %w", alg, kid, prevKID, err)
	}
	m.log.Info("signing key activated", "kid", kid, "alg", alg, "retired", prevKID)
	m.changed()
	return nil
}

func (m *Manager) deleteKey(ctx context.Context, kid, reason string) error {
	if err := m.store.DeleteKey(ctx, kid); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("keys: delete key %s (%s): %w", kid, reason, err)
	}
	m.log.Info("signing key deleted", "kid", kid, "reason", reason)
	m.changed()
	return nil
}

// Run reloads the keys every RefreshInterval and does maintenance (see
// maintain) until ctx is done. Errors are logged; the current keys stay in
// use.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.opts.RefreshInterval)
	defer t.Stop()
	for {
		if err := m.maintain(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("signing key maintenance failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maintain reloads the store, deletes retired keys past RetireAfter and
// superseded pending keys, and performs automatic rotation:
//
//   - once the active key's age reaches RotationInterval-PublishLead and no
//     pending key exists for its algorithm, create one (it is published from
//     now on);
//   - once the age reaches RotationInterval and the oldest pending key has
//     been published for PublishLead, activate it.
//
// Every instance runs this; "only create when none is pending" plus
// ActivateKey's compare-and-swap on the active kid make the instances agree
// on one new key, and a duplicate pending key created in the same instant is
// deleted as superseded once the other is activated.
func (m *Manager) maintain(ctx context.Context) error {
	m.rotMu.Lock()
	defer m.rotMu.Unlock()
	if err := m.Reload(ctx); err != nil {
		return err
	}
	s := m.snap.Load()
	now := m.opts.Now()
	var errs []error
	dirty := false
	for _, r := range s.rows {
		if r.State == storage.KeyRetired && r.RetireAfter != nil && !now.Before(*r.RetireAfter) {
			errs = append(errs, m.deleteKey(ctx, r.KID, "retired key past retire_after"))
			dirty = true
		}
	}
	for _, alg := range m.opts.Algorithms {
		active := s.active[alg]
		if active == nil {
			errs = append(errs, m.ensureActive(ctx, alg))
			dirty = true
			continue
		}
		activatedAt := activationTime(s.rows, active.KID)
		var fresh []storage.SigningKey
		for _, p := range pendingOf(s.rows, alg) {
			if p.CreatedAt.Before(activatedAt) && now.Sub(p.CreatedAt) >= supersededGrace {
				errs = append(errs, m.deleteKey(ctx, p.KID, "pending key superseded by "+active.KID))
				dirty = true
				continue
			}
			fresh = append(fresh, p)
		}
		if m.opts.RotationInterval <= 0 {
			continue
		}
		due := activatedAt.Add(m.opts.RotationInterval)
		if len(fresh) == 0 {
			if !now.Before(due.Add(-m.opts.PublishLead)) {
				_, err := m.createPending(ctx, alg)
				errs = append(errs, err)
				dirty = true
			}
			continue
		}
		next := fresh[0]
		if now.Before(due) || now.Before(next.CreatedAt.Add(m.opts.PublishLead)) {
			continue
		}
		if err := m.activate(ctx, next.KID, alg, active.KID); err != nil && !lostRace(err) {
			errs = append(errs, err)
		}
		dirty = true
	}
	if dirty {
		errs = append(errs, m.Reload(ctx))
	}
	return errors.Join(errs...)
}

// activationTime is when kid became active (its creation time if the store
// did not record it).
func activationTime(rows []storage.SigningKey, kid string) time.Time {
	for _, r := range rows {
		if r.KID == kid {
			if r.ActivatedAt != nil {
				return *r.ActivatedAt
			}
			return r.CreatedAt
		}
	}
	return time.Time{}
}
