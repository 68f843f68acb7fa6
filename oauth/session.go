package oauth

import (
	"time"

	"github.com/mohae/deepcopy"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// Session is the fosite session of every request Sesame handles. It embeds
// the OpenID Connect session (ID-token claims and headers, expiries,
// subject, username) and adds what access tokens need. It is serialized to
// JSON inside the sealed TokenRecord.Data, so every field must round-trip.
type Session struct {
	*openid.DefaultSession `json:"oidc"`

	// ClientID is the client the grant was issued to (RFC 9068 client_id).
	ClientID string `json:"client_id,omitempty"`
	// LoginSessionID is the browser login session that created the grant
	// ("" for grants without one); stored on storage.Grant.SessionID.
	LoginSessionID string `json:"login_session_id,omitempty"`
	// AccessTokenJTI is the jti of the access token issued last in this
	// session (set by the token strategy just before signing); JWT
	// revocation puts it on the denylist.
	AccessTokenJTI string `json:"at_jti,omitempty"`
	// AccessTokenFormat is the format of that access token: "jwt" or
	// "opaque".
	AccessTokenFormat string `json:"at_format,omitempty"`
	// DPoPJKT is the RFC 7638 thumbprint of the DPoP key the tokens of
	// this session are bound to (RFC 9449 §6: cnf.jkt), "" when unbound.
	DPoPJKT string `json:"dpop_jkt,omitempty"`
	// AccessAudience narrows the aud of the access token being issued to
	// some of the grant's audiences (RFC 8707 §2.2, resource.go); empty
	// means the whole granted audience.
	AccessAudience []string `json:"at_aud,omitempty"`
	// Act is the actor of a token issued by delegation (RFC 8693 §4.1,
	// exchange.go), nil otherwise.
	Act *Actor `json:"act,omitempty"`
	// Extra holds additional claims for JWT access tokens (set by the
	// authorize side); reserved claim names are ignored.
	Extra map[string]any `json:"extra,omitempty"`

	// grantID is the grant (fosite request id) of the access token being
	// signed, put into its grant_id claim: JWT access tokens have no row,
	// so the token itself names the grant whose revocation it obeys. Set
	// by the token strategy just before signing; never serialized.
	grantID string
	// verifiedJWT is the JWT access token this session was rebuilt from
	// after verifying it (store_jwt.go), so the strategy does not verify
	// the same signature twice.
	verifiedJWT string
}

var (
	_ openid.Session             = (*Session)(nil)
	_ oauth2.JWTSessionContainer = (*Session)(nil)
)

// newSession builds an empty, fully initialized session.
func newSession(subject, username, clientID string) *Session {
	ds := openid.NewDefaultSession()
	ds.Subject = subject
	ds.Username = username
	ds.Claims.Subject = subject
	return &Session{DefaultSession: ds, ClientID: clientID}
}

// SetSubject sets the subject of both the tokens and the ID token, so that
// an ID token issued on refresh (OIDC refresh handler) has a subject even
// when the grant came from the password flow.
func (s *Session) SetSubject(subject string) {
	s.DefaultSession.SetSubject(subject)
	s.IDTokenClaims().Subject = subject
}

// reservedClaims cannot be overridden through Extra.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "iat": true, "nbf": true,
	"jti": true, "client_id": true, "scope": true, "scp": true, claimGrantID: true, "cnf": true,
	claimAct: true,
}

// claimGrantID names the grant of a JWT access token (a fosite request id:
// random, and meaningless without Sesame's database).
const claimGrantID = "grant_id"

// GetJWTClaims builds the RFC 9068 claims of a new access token. They are
// built fresh on every call (fosite mutates what it gets), so iat and jti
// are those of the token being issued; exp, scope and aud are added by
// fosite from the request.
func (s *Session) GetJWTClaims() jwt.JWTClaimsContainer {
	extra := map[string]any{}
	for k, v := range s.Extra {
		if !reservedClaims[k] {
			extra[k] = v
		}
	}
	extra["client_id"] = s.ClientID
	// A user's token names the user (RFC 9068 §2.2.3.1 allows identity
	// claims), so a resource server can greet "Hello, alice" without an
	// extra userinfo call. client_credentials tokens have no username.
	if u := s.GetUsername(); u != "" {
		extra["preferred_username"] = u
	}
	if s.grantID != "" {
		extra[claimGrantID] = s.grantID
	}
	if s.DPoPJKT != "" {
		extra["cnf"] = map[string]any{"jkt": s.DPoPJKT} // RFC 9449 §6.1
	}
	if s.Act != nil {
		extra[claimAct] = s.Act // RFC 8693 §4.1
	}
	return &jwt.JWTClaims{
		Subject: s.GetSubject(),
		JTI:     s.AccessTokenJTI,
		Extra:   extra,
	}
}

// GetJWTHeader is the JOSE header of access tokens: RFC 9068 §2.1 requires
// typ "at+jwt". The signer adds alg and kid.
func (s *Session) GetJWTHeader() *jwt.Headers {
	return &jwt.Headers{Extra: map[string]any{"typ": "at+jwt"}}
}

// Clone returns a deep copy of the same concrete type: fosite clones the
// session on refresh, and openid.DefaultSession.Clone would drop our fields.
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := *s
	if s.DefaultSession != nil {
		c.DefaultSession = s.DefaultSession.Clone().(*openid.DefaultSession)
	}
	if s.Extra != nil {
		c.Extra = deepcopy.Copy(s.Extra).(map[string]any)
	}
	c.Act = s.Act.clone()
	return &c
}

// expiry returns the expiry of tokenType, or fallback when unset.
func (s *Session) expiry(tt fosite.TokenType, fallback time.Time) time.Time {
	if e := s.GetExpiresAt(tt); !e.IsZero() {
		return e
	}
	return fallback
}
