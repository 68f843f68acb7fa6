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
}

// Handler serves the authorization, userinfo and logout endpoints.
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
	}, nil
}

// Mount registers the endpoints. The authorization endpoint deliberately
// gets no CORS headers: it is navigated to, never fetched.
func (h *Handler) Mount(r gin.IRouter) {
	r.GET(PathAuthorize, h.authorize)
	r.POST(PathAuthorize, h.authorize)
	r.GET(PathUserinfo, h.userinfo)
	r.POST(PathUserinfo, h.userinfo)
	r.GET(PathLogout, h.logout)
	r.POST(PathLogout, h.logoutConfirm)
}

// DiscoveryExtras are the discovery entries of the endpoints this package
// mounts, for oauth.Config.ExtraDiscovery.
func (h *Handler) DiscoveryExtras() map[string]any { return DiscoveryExtras(h.issuer) }

// DiscoveryExtras is the same, available before the handler exists (the
// oauth handler, which oidc needs, is built with these entries).
func DiscoveryExtras(issuer string) map[string]any {
	iss := strings.TrimRight(issuer, "/")
	return map[string]any{
		"authorization_endpoint":  iss + PathAuthorize,
		"userinfo_endpoint":       iss + PathUserinfo,
		"end_session_endpoint":    iss + PathLogout,
		"prompt_values_supported": []string{"none", "login", "consent"},
		"acr_values_supported":    app.ACRValuesSupported,
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash",
			"name", "preferred_username", "updated_at", "email", "email_verified", "groups"},
		"authorization_response_iss_parameter_supported": true,
	}
}
