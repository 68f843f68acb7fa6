package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/storage"
)

// NewUser is the input of CreateUser.
type NewUser struct {
	Username      string
	Password      string
	Email         string
	EmailVerified bool
	Name          string
}

// CreateUser validates and stores a new user with an argon2id password hash.
// A username taken case-insensitively gives an error wrapping
// storage.ErrConflict.
func (s *Service) CreateUser(ctx context.Context, actor string, in NewUser) (storage.User, error) {
	username, err := checkUsername(in.Username)
	if err != nil {
		return storage.User{}, err
	}
	email, err := checkEmail(in.Email)
	if err != nil {
		return storage.User{}, err
	}
	name, err := checkText("name", in.Name, 200)
	if err != nil {
		return storage.User{}, err
	}
	hash, err := s.hashPassword(username, in.Password)
	if err != nil {
		return storage.User{}, err
	}
	id, err := newUserID()
	if err != nil {
		return storage.User{}, err
	}
	now := s.clock()
	u := storage.User{
		ID: id, Username: username, Email: email, EmailVerified: in.EmailVerified && email != "",
		Name: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now,
	}
	err = s.inTx(ctx, func(ctx context.Context) error {
		if err := s.store.CreateUser(ctx, u); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return conflictf("user %q already exists", username)
			}
			return fmt.Errorf("create user: %w", err)
		}
		return s.audit(ctx, actor, "user.created", "", u.ID, map[string]string{"username": username})
	})
	if err != nil {
		return storage.User{}, err
	}
	return u, nil
}

// DefaultPasswordMinLength is the shortest password accepted unless the
// operator sets SESAME_PASSWORD_MIN_LENGTH.
const DefaultPasswordMinLength = 8

// WithPasswordMinLength sets the password policy's minimum length in
// characters (n < 1 keeps the current one). Call it before use.
func (s *Service) WithPasswordMinLength(n int) *Service {
	if n >= 1 {
		s.minPassword = n
	}
	return s
}

// PasswordMinLength is the policy's minimum length, for a Service built
// on a wrapped store that must apply the same policy.
func (s *Service) PasswordMinLength() int { return s.minPassword }

// CheckPassword is the one password policy, for every place a password is
// set (web account page, CLI, admin API, user creation): not empty, at
// least the configured number of characters, at most password.MaxLength
// bytes, not the username itself (compared trimmed and case-insensitively,
// as usernames are), and not on the bundled list of the most common
// passwords (password.IsCommon, also case-insensitive).
func (s *Service) CheckPassword(username, pw string) error {
	switch {
	case pw == "":
		return invalid("password", "", "must not be empty")
	case utf8.RuneCountInString(pw) < s.minPassword:
		return invalid("password", "", fmt.Sprintf("must be at least %d characters", s.minPassword))
	case len(pw) > password.MaxLength:
		return invalid("password", "", fmt.Sprintf("must be at most %d bytes", password.MaxLength))
	case username != "" && strings.EqualFold(strings.TrimSpace(pw), strings.TrimSpace(username)):
		return invalid("password", "", "must not be the username")
	case password.IsCommon(pw):
		return invalid("password", "", "is one of the most common passwords; choose another")
	}
	return nil
}

// hashPassword applies the policy and hashes.
func (s *Service) hashPassword(username, pw string) (string, error) {
	if err := s.CheckPassword(username, pw); err != nil {
		return "", err
	}
	hash, err := password.Hash(pw, s.pw)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}

// GetUser finds a user by id, or else by username (case-insensitively).
func (s *Service) GetUser(ctx context.Context, idOrUsername string) (storage.User, error) {
	key := strings.TrimSpace(idOrUsername)
	if key == "" {
		return storage.User{}, invalid("user", "", "must not be empty")
	}
	u, err := s.store.GetUser(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		u, err = s.store.GetUserByUsername(ctx, key)
	}
	if err != nil {
		return storage.User{}, mapNotFound(err, "user", key)
	}
	return u, nil
}

// ListUsers returns one page of users ordered by username.
func (s *Service) ListUsers(ctx context.Context, o storage.ListOptions) ([]storage.User, string, error) {
	users, next, err := s.store.ListUsers(ctx, o)
	if err != nil {
		return nil, "", fmt.Errorf("list users: %w", err)
	}
	return users, next, nil
}

// SetPassword replaces a user's password (CLI, admin API) and revokes the
// user's access — every browser session and every grant with its tokens
// and codes — since whoever knew the old password may hold them (issue 13
// item 7).
func (s *Service) SetPassword(ctx context.Context, actor, idOrUsername, pw string) error {
	return s.changePassword(ctx, actor, idOrUsername, pw, "user.password_set")
}

// ChangeOwnPassword is the self-service change on the account page: the
// same policy and revocation as SetPassword. The caller gives the browser
// that made the change a fresh session afterwards, so only the user's
// other sessions end.
func (s *Service) ChangeOwnPassword(ctx context.Context, userID, pw string) error {
	return s.changePassword(ctx, "user:"+userID, userID, pw, "user.password_changed")
}

func (s *Service) changePassword(ctx context.Context, actor, idOrUsername, pw, event string) error {
	u, err := s.GetUser(ctx, idOrUsername)
	if err != nil {
		return err
	}
	hash, err := s.hashPassword(u.Username, pw)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(ctx context.Context) error {
		_, err := s.storePassword(ctx, actor, u.ID, hash, event)
		return err
	})
}

// storePassword is the one write of a new password hash (set, change,
// reset), inside the caller's transaction: the user is re-read (a sign-in
// may have rehashed the old password meanwhile), the hash replaced, every
// session and grant of the user revoked, and event audited.
func (s *Service) storePassword(ctx context.Context, actor, userID, hash, event string) (storage.User, error) {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return u, mapNotFound(err, "user", userID)
	}
	u.PasswordHash = hash
	u.UpdatedAt = s.clock()
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return u, fmt.Errorf("update user: %w", mapNotFound(err, "user", userID))
	}
	n, err := s.revokeUser(ctx, u.ID, "password changed")
	if err != nil {
		return u, err
	}
	return u, s.audit(ctx, actor, event, "", u.ID, map[string]string{"grants_revoked": fmt.Sprint(n)})
}

// DisableUser stops a user from logging in and revokes their login
// sessions and every grant (with its tokens) issued to them.
func (s *Service) DisableUser(ctx context.Context, actor, idOrUsername string) (storage.User, error) {
	var out storage.User
	err := s.inTx(ctx, func(ctx context.Context) error {
		u, err := s.GetUser(ctx, idOrUsername)
		if err != nil {
			return err
		}
		u.Disabled = true
		u.UpdatedAt = s.clock()
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return fmt.Errorf("update user: %w", mapNotFound(err, "user", idOrUsername))
		}
		n, err := s.revokeUser(ctx, u.ID, "user disabled")
		if err != nil {
			return err
		}
		out = u
		return s.audit(ctx, actor, "user.disabled", "", u.ID, map[string]string{"grants_revoked": fmt.Sprint(n)})
	})
	return out, err
}

// EnableUser lets a disabled user log in again.
func (s *Service) EnableUser(ctx context.Context, actor, idOrUsername string) (storage.User, error) {
	var out storage.User
	err := s.inTx(ctx, func(ctx context.Context) error {
		u, err := s.GetUser(ctx, idOrUsername)
		if err != nil {
			return err
		}
		u.Disabled = false
		u.UpdatedAt = s.clock()
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return fmt.Errorf("update user: %w", mapNotFound(err, "user", idOrUsername))
		}
		out = u
		return s.audit(ctx, actor, "user.enabled", "", u.ID, nil)
	})
	return out, err
}

// DeleteUser revokes everything issued to a user, forgets their consents
// and deletes them.
func (s *Service) DeleteUser(ctx context.Context, actor, idOrUsername string) error {
	return s.inTx(ctx, func(ctx context.Context) error {
		u, err := s.GetUser(ctx, idOrUsername)
		if err != nil {
			return err
		}
		n, err := s.revokeUser(ctx, u.ID, "user deleted")
		if err != nil {
			return err
		}
		consents, err := s.store.ListConsents(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("list consents: %w", err)
		}
		for _, c := range consents {
			if err := s.store.DeleteConsent(ctx, u.ID, c.ClientID); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("delete consent: %w", err)
			}
		}
		if err := s.store.DeleteUser(ctx, u.ID); err != nil {
			return fmt.Errorf("delete user: %w", mapNotFound(err, "user", idOrUsername))
		}
		return s.audit(ctx, actor, "user.deleted", "", u.ID, map[string]string{
			"username": u.Username, "grants_revoked": fmt.Sprint(n),
		})
	})
}

// checkUsername trims and validates: 1–64 characters, letters, digits and
// . _ - @ only (so usernames can be emails but hold no spaces or markup).
func checkUsername(raw string) (string, error) {
	u := strings.TrimSpace(raw)
	if u == "" {
		return "", invalid("username", "", "must not be empty")
	}
	if utf8.RuneCountInString(u) > 64 {
		return "", invalid("username", u, "must be at most 64 characters")
	}
	for _, r := range u {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-@", r) {
			return "", invalid("username", u, "may contain only letters, digits and . _ - @")
		}
	}
	return u, nil
}

func checkEmail(raw string) (string, error) {
	e := strings.TrimSpace(raw)
	if e == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || len(e) > 254 {
		return "", invalid("email", e, "must be a plain email address like alice@example.com")
	}
	return e, nil
}

// checkText trims a free-text field and refuses control characters and
// overlong values.
func checkText(field, raw string, max int) (string, error) {
	v := strings.TrimSpace(raw)
	if !utf8.ValidString(v) {
		return "", invalid(field, "", "must be valid UTF-8")
	}
	if utf8.RuneCountInString(v) > max {
		return "", invalid(field, "", fmt.Sprintf("must be at most %d characters", max))
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return "", invalid(field, v, "must not contain control characters")
		}
	}
	return v, nil
}

// newUserID returns a random UUIDv4 string: the stable `sub` of a user.
func newUserID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("user id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// CheckEmail and CheckText are the profile-field rules of the user use
// cases, exported so that the admin API's profile edit applies the very
// same checks and messages as the CLI.
func CheckEmail(raw string) (string, error) { return checkEmail(raw) }

// CheckText trims a free-text field and refuses invalid UTF-8, control
// characters and values longer than max runes.
func CheckText(field, raw string, max int) (string, error) { return checkText(field, raw, max) }
