package mfa_test

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/mfa"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/sqlite"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newService(t *testing.T, ring *secret.Keyring) (*mfa.Service, storage.Store, *clock) {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "mfa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if _, err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ring == nil {
		ring = testRing(t, "mfa-test-system-secret-0123456789abcdef")
	}
	// Mid-step, so ±1 step is well defined in the tests.
	c := &clock{t: time.Unix(1_800_000_015, 0)}
	s, err := mfa.New(store, ring, "sesame.example", c.now)
	if err != nil {
		t.Fatal(err)
	}
	return s, store, c
}

func testRing(t *testing.T, current string, old ...string) *secret.Keyring {
	t.Helper()
	var olds [][]byte
	for _, o := range old {
		olds = append(olds, []byte(o))
	}
	r, err := secret.New([]byte(current), olds...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func code(t *testing.T, sec string, at time.Time) string {
	t.Helper()
	c, err := mfa.TOTPCode(sec, mfa.Step(at))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode is a 6-digit code that none of the accepted steps shows.
func wrongCode(t *testing.T, sec string, at time.Time) string {
	t.Helper()
	for n := 0; ; n++ {
		c := fmt.Sprintf("%06d", n)
		if _, ok := mfa.MatchTOTP(sec, c, at, 0); !ok {
			return c
		}
	}
}

// RFC 6238 Appendix B, SHA-1 column (8 digits there; the last 6 are the
// 6-digit code since the code is the value mod 10^digits).
func TestTOTPCodeMatchesRFC6238Vectors(t *testing.T) {
	sec := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))
	for _, v := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		got, err := mfa.TOTPCode(sec, mfa.Step(time.Unix(v.unix, 0)))
		if err != nil {
			t.Fatal(err)
		}
		if got != v.want[2:] {
			t.Errorf("T=%d: code %s, want %s", v.unix, got, v.want[2:])
		}
	}
}

func TestMatchTOTPWindow(t *testing.T) {
	sec := "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	now := time.Unix(1_800_000_015, 0)
	cur := mfa.Step(now)
	for _, tc := range []struct {
		name   string
		offset time.Duration
		after  int64
		ok     bool
	}{
		{"current step", 0, 0, true},
		{"one step behind (clock drift)", -30 * time.Second, 0, true},
		{"one step ahead (clock drift)", 30 * time.Second, 0, true},
		{"two steps behind is refused", -60 * time.Second, 0, false},
		{"two steps ahead is refused", 60 * time.Second, 0, false},
		{"the step already used is refused", 0, cur, false},
		{"an earlier step than the one used is refused", -30 * time.Second, cur, false},
		{"a later step than the one used is accepted", 30 * time.Second, cur, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := code(t, sec, now.Add(tc.offset))
			step, ok := mfa.MatchTOTP(sec, c, now, tc.after)
			if ok != tc.ok {
				t.Fatalf("MatchTOTP ok=%v, want %v", ok, tc.ok)
			}
			if ok && step != mfa.Step(now.Add(tc.offset)) {
				t.Errorf("matched step %d, want %d", step, mfa.Step(now.Add(tc.offset)))
			}
		})
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", strings.Repeat("1", 100)} {
		if _, ok := mfa.MatchTOTP(sec, bad, now, 0); ok {
			t.Errorf("MatchTOTP accepted %q", bad)
		}
	}
	spaced := code(t, sec, now)
	if _, ok := mfa.MatchTOTP(sec, spaced[:3]+" "+spaced[3:], now, 0); !ok {
		t.Error("a code typed with a space in the middle is refused")
	}
}

func TestTOTPEnrolConfirmVerifyReplay(t *testing.T) {
	s, store, clk := newService(t, nil)
	ctx := t.Context()
	e, err := s.BeginTOTP(ctx, "u-1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(e.URI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("URI %q is not otpauth://totp/...", e.URI)
	}
	q := u.Query()
	if q.Get("secret") != e.Secret || q.Get("issuer") != "sesame.example" || q.Get("digits") != "6" ||
		q.Get("period") != "30" || q.Get("algorithm") != "SHA1" || !strings.Contains(u.Path, "alice") {
		t.Errorf("URI %q does not carry the RFC 6238 profile, issuer and account", e.URI)
	}
	if !strings.HasPrefix(e.QR, "data:image/png;base64,iVBOR") {
		t.Errorf("QR is not a PNG data URI: %.40s", e.QR)
	}
	// At rest the secret is sealed: neither the base32 text nor its bytes.
	f, err := store.GetFactor(ctx, e.FactorID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if strings.Contains(string(f.Secret), e.Secret) || strings.Contains(string(f.Secret), string(raw)) || f.Confirmed {
		t.Fatalf("stored factor holds the secret in clear or is confirmed already: %+v", f)
	}

	// Not confirmed yet: it does not count.
	if _, err := s.VerifyTOTP(ctx, "u-1", code(t, e.Secret, clk.now())); !errors.Is(err, mfa.ErrNoFactor) {
		t.Fatalf("VerifyTOTP before confirmation: %v, want ErrNoFactor", err)
	}
	if err := s.ConfirmTOTP(ctx, "u-1", e.FactorID, wrongCode(t, e.Secret, clk.now())); !errors.Is(err, mfa.ErrWrongCode) {
		t.Fatalf("ConfirmTOTP with a wrong code: %v, want ErrWrongCode", err)
	}
	if err := s.ConfirmTOTP(ctx, "u-2", e.FactorID, code(t, e.Secret, clk.now())); !errors.Is(err, mfa.ErrNoFactor) {
		t.Fatalf("ConfirmTOTP of another user's enrolment: %v, want ErrNoFactor", err)
	}
	again, err := s.PendingTOTP(ctx, "u-1", "alice", e.FactorID)
	if err != nil || again.Secret != e.Secret || again.URI != e.URI {
		t.Fatalf("PendingTOTP = %+v, %v; want the same secret and URI", again, err)
	}
	confirmCode := code(t, e.Secret, clk.now())
	if err := s.ConfirmTOTP(ctx, "u-1", e.FactorID, confirmCode); err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	// The code that confirmed cannot be used to sign in.
	if _, err := s.VerifyTOTP(ctx, "u-1", confirmCode); !errors.Is(err, mfa.ErrCodeUsed) {
		t.Fatalf("the confirmation code reused at sign-in: %v, want ErrCodeUsed", err)
	}
	clk.add(30 * time.Second)
	c := code(t, e.Secret, clk.now())
	if _, err := s.VerifyTOTP(ctx, "u-1", c); err != nil {
		t.Fatalf("VerifyTOTP with the next step's code: %v", err)
	}
	if _, err := s.VerifyTOTP(ctx, "u-1", c); !errors.Is(err, mfa.ErrCodeUsed) {
		t.Fatalf("the same code again in the same window: %v, want ErrCodeUsed", err)
	}
	if _, err := s.VerifyTOTP(ctx, "u-1", "12345x"); !errors.Is(err, mfa.ErrWrongCode) {
		t.Fatalf("a malformed code: %v, want ErrWrongCode", err)
	}
	// Concurrent submissions of one fresh code: exactly one wins.
	clk.add(30 * time.Second)
	c = code(t, e.Secret, clk.now())
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.VerifyTOTP(context.Background(), "u-1", c) })
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, mfa.ErrCodeUsed):
			t.Errorf("concurrent VerifyTOTP: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent submissions of one code were accepted, want 1", wins, len(errs))
	}
}

func TestBeginTOTPDropsAnUnfinishedEnrolment(t *testing.T) {
	s, store, _ := newService(t, nil)
	ctx := t.Context()
	first, err := s.BeginTOTP(ctx, "u-1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.BeginTOTP(ctx, "u-1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if first.Secret == second.Secret {
		t.Fatal("a new enrolment reuses the secret")
	}
	fs, _ := store.ListFactors(ctx, "u-1")
	if len(fs) != 1 || fs[0].ID != second.FactorID {
		t.Fatalf("factors after two enrolments: %+v, want only the second", fs)
	}
}

func TestTOTPSecretBoundToItsRowAndOpensAfterSecretRotation(t *testing.T) {
	oldRing := testRing(t, "the-old-system-secret-0123456789abcdef")
	s, store, clk := newService(t, oldRing)
	ctx := t.Context()
	e, err := s.BeginTOTP(ctx, "u-1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmTOTP(ctx, "u-1", e.FactorID, code(t, e.Secret, clk.now())); err != nil {
		t.Fatal(err)
	}
	// A sealed secret copied onto another user's row does not open.
	f, _ := store.GetFactor(ctx, e.FactorID)
	f.ID, f.UserID = "f-copy", "u-2"
	if err := store.CreateFactor(ctx, f); err != nil {
		t.Fatal(err)
	}
	clk.add(30 * time.Second)
	if _, err := s.VerifyTOTP(ctx, "u-2", code(t, e.Secret, clk.now())); err == nil || errors.Is(err, mfa.ErrWrongCode) {
		t.Fatalf("a secret moved to another user's row opened or looked like a wrong code: %v", err)
	}
	// SESAME_SECRET rotated, the old one kept: the factor still works.
	rotated, err := mfa.New(store, testRing(t, "the-new-system-secret-0123456789abcdef", "the-old-system-secret-0123456789abcdef"), "sesame.example", clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rotated.VerifyTOTP(ctx, "u-1", code(t, e.Secret, clk.now())); err != nil {
		t.Fatalf("after rotation with the old secret kept: %v", err)
	}
	// Without the old secret it cannot be opened (fails closed, not a wrong code).
	lost, _ := mfa.New(store, testRing(t, "the-new-system-secret-0123456789abcdef"), "sesame.example", clk.now)
	clk.add(30 * time.Second)
	if _, err := lost.VerifyTOTP(ctx, "u-1", code(t, e.Secret, clk.now())); err == nil || errors.Is(err, mfa.ErrWrongCode) {
		t.Fatalf("without the old secret: %v, want an infrastructure error", err)
	}
}

func TestRecoveryCodesSingleUseHashedAndRotatable(t *testing.T) {
	ring := testRing(t, "the-old-system-secret-0123456789abcdef")
	s, store, clk := newService(t, ring)
	ctx := t.Context()
	codes, err := s.NewRecoveryCodes(ctx, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != mfa.RecoveryCodeCount {
		t.Fatalf("%d codes, want %d", len(codes), mfa.RecoveryCodeCount)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' || seen[c] || !mfa.LooksLikeRecoveryCode(c) {
			t.Fatalf("bad or repeated code %q", c)
		}
		seen[c] = true
	}
	if mfa.LooksLikeRecoveryCode("123456") {
		t.Error("a TOTP code looks like a recovery code")
	}
	if n, _ := s.RecoveryCodesLeft(ctx, "u-1"); n != 10 {
		t.Fatalf("codes left = %d", n)
	}
	// Typed in capitals and without the dash it still works — once.
	typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", ""))
	if err := s.UseRecoveryCode(ctx, "u-1", typed); err != nil {
		t.Fatalf("UseRecoveryCode: %v", err)
	}
	if err := s.UseRecoveryCode(ctx, "u-1", codes[3]); !errors.Is(err, mfa.ErrWrongCode) {
		t.Fatalf("a used code again: %v, want ErrWrongCode", err)
	}
	if err := s.UseRecoveryCode(ctx, "u-2", codes[4]); !errors.Is(err, mfa.ErrWrongCode) {
		t.Fatalf("another user's code: %v, want ErrWrongCode", err)
	}
	if n, _ := s.RecoveryCodesLeft(ctx, "u-1"); n != 9 {
		t.Fatalf("codes left after one use = %d, want 9", n)
	}
	// After SESAME_SECRET rotation (old kept) an old code still works.
	rotated, _ := mfa.New(store, testRing(t, "the-new-system-secret-0123456789abcdef", "the-old-system-secret-0123456789abcdef"), "x", clk.now)
	if err := rotated.UseRecoveryCode(ctx, "u-1", codes[5]); err != nil {
		t.Fatalf("old code after rotation: %v", err)
	}
	// Regenerating voids the old set.
	fresh, err := s.NewRecoveryCodes(ctx, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UseRecoveryCode(ctx, "u-1", codes[6]); !errors.Is(err, mfa.ErrWrongCode) {
		t.Fatalf("an old code after regeneration: %v", err)
	}
	if err := s.UseRecoveryCode(ctx, "u-1", fresh[0]); err != nil {
		t.Fatalf("a new code: %v", err)
	}
}

// TestImportDirection: internal/mfa imports internal/secret and storage
// only (STYLE.md package map), besides its libraries.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "github.com/sesameauth/sesame/internal/mfa").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/sesameauth/sesame/") &&
			dep != "github.com/sesameauth/sesame/internal/secret" && dep != "github.com/sesameauth/sesame/storage" {
			t.Errorf("internal/mfa imports %s", dep)
		}
	}
}
