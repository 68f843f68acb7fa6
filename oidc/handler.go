package oidc

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/oauth"
)

// Endpoint paths.
const (
	PathAuthorize = session.PathAuthorize
	PathUserinfo  = "/userinfo"
	PathLogout    = "/oauth2/logout"
)

// Deps are the dependencies of New.
type Deps struct {
	OAuth    *oauth.Handler
	Store    Store
	Sessions *session.Manager
	// Keys verifies id_token_hint on logout (any published key).
	Keys   *keys.Manager
	Issuer string
	Logger *slog.Logger
	// UpstreamIDs are the ids of the configured upstream providers: an
	// authorization request with idp_hint naming one goes straight there.
	UpstreamIDs []string
	// MFA is the second-factor policy (SESAME_MFA); with the client's
	// RequireMFA and acr_values it decides which requests need two
	// factors.
	MFA app.MFAPolicy

	// Registration is the URL of the dynamic client registration
	// endpoint (RFC 7591, mounted by internal/admin) for the discovery
	// documents; empty when none is mounted.
	Registration string
	// ClientIDMetadataDocuments says in discovery that a client_id may be
	// the URL of the client's metadata document
	// (SESAME_CLIENT_ID_METADATA_DOCUMENTS).
	ClientIDMetadataDocuments bool
}

// Handler serves the authorization, userinfo and logout endpoints, the
// discovery documents and the JWKS (documents.go).
type Handler struct {
	oauth    *oauth.Handler
	store    Store
	sessions *session.Manager
	keys     *keys.Manager
	issuer   string
	log      *slog.Logger
	cop      *http.CrossOriginProtection
	idps     []string
	mfa      app.MFAPolicy
	docs     *documents
}

// New checks the dependencies and builds the handler.
func New(d Deps) (*Handler, error) {
	var errs []error
	if d.OAuth == nil {
		errs = append(errs, errors.New("oidc.Deps.OAuth is required"))
	}
	if d.Store == nil {
		errs = append(errs, errors.New("oidc.Deps.Store is required"))
	}
	if d.Sessions == nil {
		errs = append(errs, errors.New("oidc.Deps.Sessions is required"))
	}
	if d.Keys == nil {
		errs = append(errs, errors.New("oidc.Deps.Keys is required"))
	}
	if u, err := url.Parse(d.Issuer); err != nil || u.Scheme == "" || u.Host == "" {
		errs = append(errs, errors.New("oidc.Deps.Issuer must be an absolute URL"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(errors.New("oidc: invalid dependencies"), err)
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	docs, err := newDocuments(d)
	if err != nil {
		return nil, err
	}
	return &Handler{
		oauth:    d.OAuth,
		store:    d.Store,
		sessions: d.Sessions,
		keys:     d.Keys,
		issuer:   strings.TrimRight(d.Issuer, "/"),
		log:      d.Logger,
		cop:      http.NewCrossOriginProtection(),
		idps:     slices.Clone(d.UpstreamIDs),
		mfa:      d.MFA,
		docs:     docs,
	}, nil
}

// Mount registers the endpoints and the documents. The authorization
// endpoint deliberately gets no CORS headers: it is navigated to, never
// fetched.
func (h *Handler) Mount(r gin.IRouter) {
	h.docs.mount(r)
	r.GET(PathAuthorize, h.authorize)
	r.POST(PathAuthorize, h.authorize)
	r.GET(PathUserinfo, h.userinfo)
	r.POST(PathUserinfo, h.userinfo)
	r.GET(PathLogout, h.logout)
	r.POST(PathLogout, h.logoutConfirm)
}
