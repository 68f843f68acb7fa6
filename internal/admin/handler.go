package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/httpx"
	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// Paths of the registration endpoints (RFC 7591 §3, RFC 7592 §2).
const (
	PathRegister       = "/oauth2/register"
	PathRegisterClient = "/oauth2/register/:client_id"
)

// KeyManager is what the admin API needs of the signing keys;
// *keys.Manager implements it.
type KeyManager interface {
	List(ctx context.Context) ([]keys.Info, error)
	RotateAll(ctx context.Context) ([]keys.Info, error)
}

var _ KeyManager = (*keys.Manager)(nil)

// Deps are the dependencies of New.
type Deps struct {
	// App provides the administrative use cases' settings (password
	// parameters). The handler runs the very same use cases on a store
	// wrapper that stamps each audit event with the caller's IP address and
	// user agent.
	App    *app.Service
	Store  Store
	Keys   KeyManager
	Tokens TokenVerifier
	Ring   *secret.Keyring
	// Issuer is the issuer URL (no trailing slash); registration_client_uri
	// and registration_endpoint are built from it.
	Issuer string
	// OpenRegistration lets anyone register a client without an initial
	// access token (SESAME_OPEN_REGISTRATION, default off).
	OpenRegistration bool
	// RegistrationAudiences is the audience given to every client
	// registered through RFC 7591 (SESAME_REGISTRATION_AUDIENCES).
	RegistrationAudiences []string
	Logger                *slog.Logger
	Now                   func() time.Time
	// Upstreams probes the configured sign-in providers for GET
	// /admin/upstreams (nil: none configured).
	Upstreams func(ctx context.Context) []app.UpstreamStatus
}

// Handler serves /admin/ and /oauth2/register.
type Handler struct {
	svc    *app.Service
	store  Store
	keys   KeyManager
	tokens TokenVerifier
	ring   *secret.Keyring
	issuer string
	open   bool
	regAud []string // Deps.RegistrationAudiences
	log    *slog.Logger
	now    func() time.Time
	cursor cursorSigner
	// upstreams: see Deps.Upstreams.
	upstreams func(ctx context.Context) []app.UpstreamStatus
}

// New checks the dependencies and builds the handler.
func New(d Deps) (*Handler, error) {
	var errs []error
	if d.App == nil {
		errs = append(errs, errors.New("admin.Deps.App is required"))
	}
	if d.Store == nil {
		errs = append(errs, errors.New("admin.Deps.Store is required"))
	}
	if d.Keys == nil {
		errs = append(errs, errors.New("admin.Deps.Keys is required"))
	}
	if d.Tokens == nil {
		errs = append(errs, errors.New("admin.Deps.Tokens is required"))
	}
	if d.Ring == nil {
		errs = append(errs, errors.New("admin.Deps.Ring is required"))
	}
	issuer := strings.TrimRight(d.Issuer, "/")
	if u, err := url.Parse(issuer); issuer == "" || err != nil || !u.IsAbs() || u.Host == "" {
		errs = append(errs, errors.New("admin.Deps.Issuer must be an absolute URL"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(errors.New("admin: invalid dependencies"), err)
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	st := auditOriginStore{d.Store}
	return &Handler{
		svc:    d.App.WithStore(st),
		store:  st,
		keys:   d.Keys,
		tokens: d.Tokens,
		ring:   d.Ring,
		issuer: issuer,
		open:   d.OpenRegistration,
		regAud: d.RegistrationAudiences,
		log:    d.Logger.With("component", "admin"),
		now:    d.Now,
		cursor: cursorSigner{key: d.Ring.Derive("admin-list-cursor")},

		upstreams: d.Upstreams,
	}, nil
}

// Mount registers /admin/* and /oauth2/register* on r.
func (h *Handler) Mount(r gin.IRouter) {
	reg := r.Group("", h.withOrigin)
	reg.POST(PathRegister, h.register)
	reg.GET(PathRegisterClient, h.registrationRead)
	reg.PUT(PathRegisterClient, h.registrationUpdate)
	reg.DELETE(PathRegisterClient, h.registrationDelete)

	a := r.Group("/admin", h.withOrigin, h.requireAdmin)
	a.GET("/clients", h.listClients)
	a.POST("/clients", h.createClient)
	a.GET("/clients/:id", h.getClient)
	a.PUT("/clients/:id", h.replaceClient)
	a.PATCH("/clients/:id", h.patchClient)
	a.DELETE("/clients/:id", h.deleteClient)
	a.POST("/clients/:id/rotate-secret", h.rotateClientSecret)
	a.POST("/clients/:id/unlock", h.unlockClient)
	a.DELETE("/clients/:id/registration-token", h.revokeRegistrationToken)

	a.GET("/users", h.listUsers)
	a.POST("/users", h.createUser)
	a.POST("/users/invite", h.inviteUser)
	a.GET("/users/:id", h.getUser)
	a.PATCH("/users/:id", h.patchUser)
	a.DELETE("/users/:id", h.deleteUser)
	a.POST("/users/:id/disable", h.disableUser)
	a.POST("/users/:id/unlock", h.unlockUser)
	a.POST("/users/:id/mfa/reset", h.resetUserMFA)
	a.PUT("/users/:id/password", h.setPassword)
	a.GET("/users/:id/consents", h.listConsents)
	a.GET("/users/:id/tokens", h.listUserTokens)
	a.DELETE("/users/:id/consents/:client_id", h.revokeConsent)

	a.GET("/groups", h.listGroups)
	a.POST("/groups", h.createGroup)
	a.GET("/groups/:id", h.getGroup)
	a.DELETE("/groups/:id", h.deleteGroup)
	a.PUT("/groups/:id/members/:user_id", h.addGroupMember)
	a.DELETE("/groups/:id/members/:user_id", h.removeGroupMember)

	a.GET("/resources", h.listResources)
	a.POST("/resources", h.createResource)
	a.GET("/resources/:id", h.getResource)
	a.PATCH("/resources/:id", h.patchResource)
	a.DELETE("/resources/:id", h.deleteResource)

	a.GET("/upstreams", h.listUpstreams)

	a.GET("/keys", h.listKeys)
	a.POST("/keys/rotate", h.rotateKeys)

	a.POST("/tokens/revoke", h.revokeTokens)

	a.GET("/audit", h.listAudit)

	a.GET("/registration-tokens", h.listRegistrationTokens)
	a.POST("/registration-tokens", h.createRegistrationToken)
	a.DELETE("/registration-tokens/:id", h.deleteRegistrationToken)
}

// origin is where a request came from, for the audit log.
type origin struct{ ip, userAgent string }

type originKey struct{}

// withOrigin records the caller's address and user agent in the request
// context. httpx.ClientIP honours forwarding headers only from the proxies
// the engine trusts (httpx.ConfigureProxies, called by the server).
func (h *Handler) withOrigin(c *gin.Context) {
	ua := c.Request.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	ctx := context.WithValue(c.Request.Context(), originKey{}, origin{ip: httpx.ClientIP(c), userAgent: ua})
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// auditOriginStore stamps every audit event written with a request context
// with the caller's IP and user agent; app's use cases write their events
// through it without knowing about HTTP.
type auditOriginStore struct{ Store }

func (s auditOriginStore) AppendAudit(ctx context.Context, e storage.AuditEvent) error {
	if o, ok := ctx.Value(originKey{}).(origin); ok {
		if e.IP == "" {
			e.IP = o.ip
		}
		if e.UserAgent == "" {
			e.UserAgent = o.userAgent
		}
	}
	return s.Store.AppendAudit(ctx, e)
}

// audit appends one success event of a change made here (not through app).
func (h *Handler) audit(ctx context.Context, actor, typ, clientID, userID string, details map[string]string) error {
	return h.store.AppendAudit(ctx, storage.AuditEvent{
		At: h.now().UTC().Truncate(time.Microsecond), Type: typ, Actor: actor,
		ClientID: clientID, UserID: userID, Outcome: "success", Details: details,
	})
}
