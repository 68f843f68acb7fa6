package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/storage"
)

// ImportedUser is a user read from another system (internal/importer):
// the password hash is copied, never computed.
type ImportedUser struct {
	Username     string
	Email        string
	Name         string
	PasswordHash string // verbatim; see password.Inspect for what Verify accepts
	Disabled     bool
	CreatedAt    time.Time // zero: now
	LastLoginAt  time.Time // zero: never
}

// ImportOutcome is what an import did with one record.
type ImportOutcome string

const (
	ImportCreated   ImportOutcome = "created"
	ImportUpdated   ImportOutcome = "updated"
	ImportUnchanged ImportOutcome = "unchanged"
)

// ImportUser creates or updates the user of in.Username (matched
// case-insensitively) with the imported fields, in the caller's
// transaction, without auditing each row (the importer audits the run).
// The stored password is replaced only while it is still an imported
// (non-argon2id) hash: once the user signed in to Sesame (which upgrades
// the hash) or had a password set here, a second import keeps it.
// Validation errors name the field; the row should be skipped.
func (s *Service) ImportUser(ctx context.Context, in ImportedUser) (storage.User, ImportOutcome, error) {
	username, err := checkUsername(in.Username)
	if err != nil {
		return storage.User{}, "", err
	}
	if username != in.Username {
		return storage.User{}, "", invalid("username", in.Username, "has leading or trailing spaces")
	}
	email, err := checkEmail(in.Email)
	if err != nil {
		return storage.User{}, "", err
	}
	name, err := checkText("name", in.Name, 200)
	if err != nil {
		return storage.User{}, "", err
	}
	if len(in.PasswordHash) > 512 {
		return storage.User{}, "", invalid("password", "", "hash is longer than 512 bytes")
	}
	now := s.clock()
	created := in.CreatedAt.UTC().Truncate(time.Microsecond)
	if created.IsZero() || created.After(now) {
		created = now
	}
	var lastLogin *time.Time
	if l := in.LastLoginAt.UTC().Truncate(time.Microsecond); !l.IsZero() {
		lastLogin = &l
		if l.After(now) {
			lastLogin = &now
		}
	}
	cur, err := s.store.GetUserByUsername(ctx, username)
	if errors.Is(err, storage.ErrNotFound) {
		id, err := newUserID()
		if err != nil {
			return storage.User{}, "", err
		}
		u := storage.User{
			ID: id, Username: username, Email: email, Name: name, PasswordHash: in.PasswordHash,
			Disabled: in.Disabled, CreatedAt: created, UpdatedAt: now, LastLoginAt: lastLogin,
		}
		if err := s.store.CreateUser(ctx, u); err != nil {
			return storage.User{}, "", fmt.Errorf("import user %q: %w", username, err)
		}
		return u, ImportCreated, nil
	} else if err != nil {
		return storage.User{}, "", fmt.Errorf("import user %q: %w", username, err)
	}
	next := cur
	next.Email, next.Name, next.Disabled = email, name, in.Disabled
	if next.Email != cur.Email {
		next.EmailVerified = false
	}
	if !strings.HasPrefix(cur.PasswordHash, "$") { // still imported: see password.Verify
		next.PasswordHash = in.PasswordHash
	}
	// A sign-in to Sesame after the first import is newer than what
	// Django knows: last_login only moves forward. (Keeping cur's pointer
	// otherwise lets next == cur below see "unchanged".)
	if lastLogin != nil && (cur.LastLoginAt == nil || lastLogin.After(*cur.LastLoginAt)) {
		next.LastLoginAt = lastLogin
	}
	if next == cur {
		return cur, ImportUnchanged, nil
	}
	next.UpdatedAt = now
	if err := s.store.UpdateUser(ctx, next); err != nil {
		return storage.User{}, "", fmt.Errorf("import user %q: %w", username, err)
	}
	if next.Disabled && !cur.Disabled {
		if _, err := s.revokeUser(ctx, cur.ID, "user disabled by import"); err != nil {
			return storage.User{}, "", err
		}
	}
	return next, ImportUpdated, nil
}

// ImportGroup creates the group of name (matched case-insensitively)
// unless it exists, in the caller's transaction.
func (s *Service) ImportGroup(ctx context.Context, name string) (storage.Group, ImportOutcome, error) {
	name, err := checkGroupName(name)
	if err != nil {
		return storage.Group{}, "", err
	}
	g, err := s.store.GetGroupByName(ctx, name)
	if err == nil {
		return g, ImportUnchanged, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return storage.Group{}, "", fmt.Errorf("import group %q: %w", name, err)
	}
	if g, err = s.newGroup(name, ""); err != nil {
		return storage.Group{}, "", err
	}
	if err := s.store.CreateGroup(ctx, g); err != nil {
		return storage.Group{}, "", fmt.Errorf("import group %q: %w", name, err)
	}
	return g, ImportCreated, nil
}

// ImportMembership makes userID a member of groupID, in the caller's
// transaction.
func (s *Service) ImportMembership(ctx context.Context, groupID, userID string) (ImportOutcome, error) {
	added, err := s.store.AddGroupMember(ctx, groupID, userID, s.clock())
	if err != nil {
		return "", fmt.Errorf("import membership: %w", err)
	}
	if added {
		return ImportCreated, nil
	}
	return ImportUnchanged, nil
}

// AuditImport records one import run (its counts) in the audit log.
func (s *Service) AuditImport(ctx context.Context, actor, source string, details map[string]string) error {
	d := map[string]string{"source": source}
	for k, v := range details {
		d[k] = v
	}
	return s.inTx(ctx, func(ctx context.Context) error { return s.audit(ctx, actor, "import.completed", "", "", d) })
}

// InTx runs fn in one transaction of the service's store (the importer's
// batches).
func (s *Service) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.inTx(ctx, fn)
}

// PasswordAlgorithm names the algorithm of an imported hash for reports
// (password.Inspect): an error wrapping ErrUnsupportedHash for an
// algorithm Sesame does not verify, any other error for a malformed hash.
func PasswordAlgorithm(hash string) (string, error) { return password.Inspect(hash) }

// ErrUnsupportedHash and AlgUnusable are internal/password's, for the
// importer (which imports app and storage only).
var ErrUnsupportedHash = password.ErrUnsupported

// AlgUnusable names Django's unusable password ("!…").
const AlgUnusable = password.AlgUnusable

// IsDRFTokenKey reports whether k has the shape of a Django REST Framework
// token key: 40 lower-case hexadecimal characters
// (binascii.hexlify(os.urandom(20))).
func IsDRFTokenKey(k string) bool {
	if len(k) != 40 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
