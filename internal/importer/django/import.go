package django

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sesameauth/sesame/internal/app"
)

// batchSize is how many rows one transaction writes.
const batchSize = 500

// TokenImporter stores a DRF token key as a personal access token
// (oauth.Handler.ImportDRFToken); created is false when it was already
// stored.
type TokenImporter interface {
	ImportDRFToken(ctx context.Context, key, userID, clientID string, scopes []string, createdAt time.Time) (created bool, err error)
}

// Options configure one import.
type Options struct {
	From   string // postgres://… or sqlite:PATH
	DryRun bool
	Actor  string // audit actor, e.g. "cli"
	// TokenClient is the client imported DRF tokens are issued to; ""
	// skips the tokens (each reported).
	TokenClient string
	// TokenScopes are the scopes of imported DRF tokens.
	TokenScopes []string
}

// Counts are what happened to one kind of record.
type Counts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
}

func (c *Counts) add(o app.ImportOutcome) {
	switch o {
	case app.ImportCreated:
		c.Created++
	case app.ImportUpdated:
		c.Updated++
	default:
		c.Unchanged++
	}
}

// Row names one source row the report talks about.
type Row struct {
	Table  string `json:"table"`
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"` // username, group name; never a token key
	Reason string `json:"reason"`
}

// Report is the outcome of one import; its JSON is `--json`'s output.
type Report struct {
	DryRun      bool   `json:"dry_run"`
	Users       Counts `json:"users"`
	Groups      Counts `json:"groups"`
	Memberships Counts `json:"memberships"`
	Tokens      Counts `json:"tokens"`
	// Skipped lists every row that was not imported, with the reason.
	Skipped []Row `json:"skipped"`
	// Warnings lists imported rows that need attention (a password hash
	// of an algorithm Sesame does not verify: that user must reset it).
	Warnings []Row `json:"warnings"`
	// Passwords counts the imported hashes by algorithm.
	Passwords map[string]int `json:"passwords"`
}

// Changed reports whether the import wrote (or, dry, would write) anything.
func (r *Report) Changed() bool {
	return r.Users.Created+r.Users.Updated+r.Groups.Created+r.Memberships.Created+r.Tokens.Created > 0
}

func (r *Report) skip(table string, id int64, name, reason string) {
	r.Skipped = append(r.Skipped, Row{Table: table, ID: strconv.FormatInt(id, 10), Name: name, Reason: reason})
}

// errDryRun rolls the dry run's one transaction back.
var errDryRun = errors.New("django: dry run")

// Run imports the Django database at o.From into the store behind svc.
// A source that cannot be read or has an unsupported schema fails before
// anything is written (ErrSource, ErrUnsupportedSchema); a bad row is
// skipped and reported.
func Run(ctx context.Context, svc *app.Service, tokens TokenImporter, o Options) (*Report, error) {
	src, err := openSource(ctx, o.From)
	if err != nil {
		return nil, err
	}
	defer src.close()
	var users []djangoUser
	if err := src.users(ctx, func(u djangoUser) error { users = append(users, u); return nil }); err != nil {
		return nil, err
	}
	groups, err := src.groups(ctx)
	if err != nil {
		return nil, err
	}
	members, err := src.memberships(ctx)
	if err != nil {
		return nil, err
	}
	toks, err := src.drfTokens(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{DryRun: o.DryRun, Skipped: []Row{}, Warnings: []Row{}, Passwords: map[string]int{}}
	im := &importer{svc: svc, tokens: tokens, o: o, rep: rep, userIDs: map[int64]string{}, groupIDs: map[int64]string{}}
	steps := func(ctx context.Context) error {
		if err := im.groups(ctx, groups); err != nil {
			return err
		}
		if err := im.users(ctx, users); err != nil {
			return err
		}
		if err := im.memberships(ctx, members); err != nil {
			return err
		}
		return im.drfTokens(ctx, toks)
	}
	if o.DryRun {
		// One transaction, rolled back: later steps see earlier writes.
		im.batch = func(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }
		err := svc.InTx(ctx, func(ctx context.Context) error {
			if err := steps(ctx); err != nil {
				return err
			}
			return errDryRun
		})
		if !errors.Is(err, errDryRun) {
			return nil, err
		}
		return rep, nil
	}
	im.batch = svc.InTx
	if err := steps(ctx); err != nil {
		return nil, err
	}
	details := map[string]string{
		"users_created": strconv.Itoa(rep.Users.Created), "users_updated": strconv.Itoa(rep.Users.Updated),
		"groups_created": strconv.Itoa(rep.Groups.Created), "memberships_created": strconv.Itoa(rep.Memberships.Created),
		"tokens_created": strconv.Itoa(rep.Tokens.Created), "skipped": strconv.Itoa(len(rep.Skipped)),
	}
	if err := svc.AuditImport(ctx, o.Actor, "django", details); err != nil {
		return nil, err
	}
	return rep, nil
}

type importer struct {
	svc    *app.Service
	tokens TokenImporter
	o      Options
	rep    *Report
	batch  func(ctx context.Context, fn func(context.Context) error) error
	// Django id → Sesame id of what this run imported (or found).
	userIDs, groupIDs map[int64]string
}

// inBatches runs fn over items, batchSize per transaction. fn's changes to
// the report are kept only when the batch commits: a failed batch fails
// the run, and what committed before stays (idempotent on the next run).
func inBatches[T any](ctx context.Context, im *importer, items []T, fn func(ctx context.Context, item T) error) error {
	for start := 0; start < len(items); start += batchSize {
		end := min(start+batchSize, len(items))
		err := im.batch(ctx, func(ctx context.Context) error {
			for _, it := range items[start:end] {
				if err := fn(ctx, it); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) groups(ctx context.Context, groups []djangoGroup) error {
	seen := map[string]int64{}
	return inBatches(ctx, im, groups, func(ctx context.Context, g djangoGroup) error {
		fold := strings.ToLower(strings.TrimSpace(g.Name))
		if first, dup := seen[fold]; dup {
			im.rep.Groups.Skipped++
			im.rep.skip("auth_group", g.ID, g.Name, fmt.Sprintf("name differs only in case from auth_group %d (Sesame group names are case-insensitive)", first))
			return nil
		}
		seen[fold] = g.ID
		sg, outcome, err := im.svc.ImportGroup(ctx, g.Name)
		if app.IsValidation(err) {
			im.rep.Groups.Skipped++
			im.rep.skip("auth_group", g.ID, g.Name, err.Error())
			return nil
		} else if err != nil {
			return err
		}
		im.groupIDs[g.ID] = sg.ID
		im.rep.Groups.add(outcome)
		return nil
	})
}

func (im *importer) users(ctx context.Context, users []djangoUser) error {
	seen := map[string]djangoUser{}
	return inBatches(ctx, im, users, func(ctx context.Context, u djangoUser) error {
		skip := func(reason string) error {
			im.rep.Users.Skipped++
			im.rep.skip("auth_user", u.ID, u.Username, reason)
			return nil
		}
		fold := strings.ToLower(u.Username)
		if first, dup := seen[fold]; dup {
			return skip(fmt.Sprintf("username differs only in case from %q (auth_user %d): Sesame usernames are case-insensitive", first.Username, first.ID))
		}
		seen[fold] = u
		alg, err := app.PasswordAlgorithm(u.Password)
		switch {
		case u.Password == "":
			// Django writes "!…" for unusable passwords; "" (a row made
			// by hand) is the same: never matches.
			alg = app.AlgUnusable
		case errors.Is(err, app.ErrUnsupportedHash):
			alg = "unsupported"
			im.rep.Warnings = append(im.rep.Warnings, Row{Table: "auth_user", ID: strconv.FormatInt(u.ID, 10), Name: u.Username,
				Reason: fmt.Sprintf("%v: imported, but the user cannot sign in until a new password is set", err)})
		case err != nil:
			return skip(fmt.Sprintf("password hash is malformed (truncated?): %v", err))
		}
		name := strings.TrimSpace(strings.TrimSpace(u.FirstName) + " " + strings.TrimSpace(u.LastName))
		su, outcome, err := im.svc.ImportUser(ctx, app.ImportedUser{
			Username: u.Username, Email: u.Email, Name: name, PasswordHash: u.Password,
			Disabled: !u.IsActive, CreatedAt: u.DateJoined, LastLoginAt: u.LastLogin,
		})
		if app.IsValidation(err) {
			return skip(err.Error())
		} else if err != nil {
			return err
		}
		im.userIDs[u.ID] = su.ID
		im.rep.Users.add(outcome)
		im.rep.Passwords[alg]++
		return nil
	})
}

func (im *importer) memberships(ctx context.Context, ms []membership) error {
	return inBatches(ctx, im, ms, func(ctx context.Context, m membership) error {
		uid, uok := im.userIDs[m.UserID]
		gid, gok := im.groupIDs[m.GroupID]
		if !uok || !gok {
			im.rep.Memberships.Skipped++
			im.rep.skip("auth_user_groups", m.ID, "", fmt.Sprintf("user %d or group %d was not imported", m.UserID, m.GroupID))
			return nil
		}
		outcome, err := im.svc.ImportMembership(ctx, gid, uid)
		if err != nil {
			return err
		}
		im.rep.Memberships.add(outcome)
		return nil
	})
}

func (im *importer) drfTokens(ctx context.Context, toks []drfToken) error {
	return inBatches(ctx, im, toks, func(ctx context.Context, t drfToken) error {
		// The report names a token by its user only: the key is a secret.
		skip := func(reason string) error {
			im.rep.Tokens.Skipped++
			im.rep.Skipped = append(im.rep.Skipped, Row{Table: "authtoken_token", ID: "user " + strconv.FormatInt(t.UserID, 10), Reason: reason})
			return nil
		}
		uid, ok := im.userIDs[t.UserID]
		switch {
		case im.o.TokenClient == "":
			return skip("no --client given: DRF tokens are issued to a client of this server")
		case !app.IsDRFTokenKey(t.Key):
			return skip("the key is not 40 lower-case hex characters")
		case !ok:
			return skip(fmt.Sprintf("its user (auth_user %d) does not exist or was not imported", t.UserID))
		}
		u, err := im.svc.GetUser(ctx, uid)
		if err != nil {
			return err
		}
		if u.Disabled {
			return skip("its user is inactive")
		}
		created, err := im.tokens.ImportDRFToken(ctx, t.Key, uid, im.o.TokenClient, im.o.TokenScopes, t.Created)
		if err != nil {
			return err
		}
		if created {
			im.rep.Tokens.Created++
		} else {
			im.rep.Tokens.Unchanged++
		}
		return nil
	})
}
