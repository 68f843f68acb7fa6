package app

import (
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// UserView is a user as the CLI's --json and the admin API show it. The
// password hash is never part of it.
type UserView struct {
	ID            string    `json:"id"`
	Username      string    `json:"username"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Name          string    `json:"name"`
	Disabled      bool      `json:"disabled"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	// LastLoginAt is the last password sign-in; null: never.
	LastLoginAt *time.Time `json:"last_login_at"`
	// Factors are the user's second factors (never their secrets); only
	// in the view of one user (UserDetail), not in lists.
	Factors []FactorView `json:"factors,omitempty"`
}

// NewUserView converts a stored user.
func NewUserView(u storage.User) UserView {
	return UserView{
		ID: u.ID, Username: u.Username, Email: u.Email, EmailVerified: u.EmailVerified,
		Name: u.Name, Disabled: u.Disabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		LastLoginAt: u.LastLoginAt,
	}
}

// ClientView is a client with RFC 7591 metadata names where they exist.
// ClientSecret is set only in the answer that created or rotated it.
type ClientView struct {
	ClientID                string   `json:"client_id"`
	ClientName              string   `json:"client_name"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	Scope                   string   `json:"scope"`
	Audience                []string `json:"audience"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	Public                  bool     `json:"public"`
	SkipConsent             bool     `json:"skip_consent"`
	RequireMFA              bool     `json:"require_mfa"`
	// RequirePAR is RFC 9126 §6 client metadata.
	RequirePAR bool `json:"require_pushed_authorization_requests"`
	// TokenExchangeAudiences: what the client may obtain by RFC 8693
	// token exchange.
	TokenExchangeAudiences []string  `json:"token_exchange_audiences"`
	AccessTokenFormat      string    `json:"access_token_format"`
	AllowedCORSOrigins     []string  `json:"allowed_cors_origins"`
	LogoURI                string    `json:"logo_uri"`
	ClientURI              string    `json:"client_uri"`
	PolicyURI              string    `json:"policy_uri"`
	TOSURI                 string    `json:"tos_uri"`
	CreatedAt              time.Time `json:"created_at"`
	UpdatedAt              time.Time `json:"updated_at"`
}

// NewClientView converts a stored client; clientSecret is the clear secret
// just generated ("" otherwise).
func NewClientView(c storage.Client, clientSecret string) ClientView {
	return ClientView{
		ClientID:                c.ID,
		ClientName:              c.Name,
		ClientSecret:            clientSecret,
		RedirectURIs:            nonNil(c.RedirectURIs),
		PostLogoutRedirectURIs:  nonNil(c.PostLogoutRedirectURIs),
		GrantTypes:              nonNil(c.GrantTypes),
		ResponseTypes:           nonNil(c.ResponseTypes),
		Scope:                   strings.Join(c.Scopes, " "),
		Audience:                nonNil(c.Audience),
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		Public:                  c.Public,
		SkipConsent:             c.SkipConsent,
		RequireMFA:              c.RequireMFA,
		RequirePAR:              c.RequirePushedAuthorizationRequests,
		TokenExchangeAudiences:  nonNil(c.TokenExchangeAudiences),
		AccessTokenFormat:       c.AccessTokenFormat,
		AllowedCORSOrigins:      nonNil(c.AllowedCORSOrigins),
		LogoURI:                 c.LogoURI,
		ClientURI:               c.ClientURI,
		PolicyURI:               c.PolicyURI,
		TOSURI:                  c.TermsURI,
		CreatedAt:               c.CreatedAt,
		UpdatedAt:               c.UpdatedAt,
	}
}

// nonNil makes empty lists print as [] rather than null, so JSON consumers
// need no null checks.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// AuditView is one audit event.
type AuditView struct {
	ID        int64             `json:"id"`
	At        time.Time         `json:"at"`
	Type      string            `json:"type"`
	Actor     string            `json:"actor"`
	ClientID  string            `json:"client_id,omitempty"`
	UserID    string            `json:"user_id,omitempty"`
	IP        string            `json:"ip,omitempty"`
	UserAgent string            `json:"user_agent,omitempty"`
	Outcome   string            `json:"outcome"`
	Details   map[string]string `json:"details,omitempty"`
}

// NewAuditView converts a stored event.
func NewAuditView(e storage.AuditEvent) AuditView {
	return AuditView{
		ID: e.ID, At: e.At, Type: e.Type, Actor: e.Actor, ClientID: e.ClientID, UserID: e.UserID,
		IP: e.IP, UserAgent: e.UserAgent, Outcome: e.Outcome, Details: e.Details,
	}
}
