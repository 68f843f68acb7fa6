package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/gin-gonic/gin"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/web/ui"
)

// logoutRequest is a parsed RP-initiated logout request (OpenID Connect
// RP-Initiated Logout 1.0 §2).
type logoutRequest struct {
	hint     *hintClaims
	clientID string
	client   *storage.Client
	redirect string // validated post_logout_redirect_uri, "" for none
	state    string
}

type hintClaims struct {
	Iss string   `json:"iss"`
	Sub string   `json:"sub"`
	Aud audience `json:"aud"`
	Azp string   `json:"azp"`
	Sid string   `json:"sid"`
}

// audience accepts the string and the array form of aud.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// errBadLogout is a logout request that cannot be honoured as asked; the
// message is safe to show.
type errBadLogout struct{ msg string }

func (e errBadLogout) Error() string { return e.msg }

var hintAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA}

// verifyHint checks that id_token_hint is an ID token this server signed
// (with any published key). Expiry is not checked: RPs send old ID tokens
// on logout, and the spec allows it.
func (h *Handler) verifyHint(ctx context.Context, raw string) (*hintClaims, error) {
	jws, err := jose.ParseSignedCompact(raw, hintAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errBadLogout{"The id_token_hint is not a valid ID token."}
	}
	hdr := jws.Signatures[0].Header
	key, err := h.keys.Lookup(ctx, hdr.KeyID)
	if err != nil || key.Alg != hdr.Algorithm {
		return nil, errBadLogout{"The id_token_hint was not issued by this server."}
	}
	payload, err := jws.Verify(key.Public.Key)
	if err != nil {
		return nil, errBadLogout{"The id_token_hint was not issued by this server."}
	}
	var c hintClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Iss != h.issuer || c.Sub == "" {
		return nil, errBadLogout{"The id_token_hint was not issued by this server."}
	}
	return &c, nil
}

// parseLogout validates the parameters (from the query or the
// confirmation form).
func (h *Handler) parseLogout(ctx context.Context, q url.Values) (*logoutRequest, error) {
	lr := &logoutRequest{state: q.Get("state"), clientID: q.Get("client_id")}
	hintClient := "" // the client the id_token_hint was issued to
	if raw := q.Get("id_token_hint"); raw != "" {
		c, err := h.verifyHint(ctx, raw)
		if err != nil {
			return nil, err
		}
		lr.hint = c
		hc := c.Azp
		if hc == "" && len(c.Aud) == 1 {
			hc = c.Aud[0]
		}
		if lr.clientID != "" && hc != "" && hc != lr.clientID {
			return nil, errBadLogout{"client_id does not match the id_token_hint."}
		}
		if lr.clientID == "" {
			lr.clientID = hc
		}
		hintClient = hc
	}
	if lr.clientID != "" {
		c, err := h.store.GetClient(ctx, lr.clientID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("oidc: logout: load client: %w", err)
		}
		if err == nil {
			lr.client = &c
		}
	}
	if uri := q.Get("post_logout_redirect_uri"); uri != "" {
		// Only a URI registered for the identified client: anything else
		// would make logout an open redirector.
		if lr.client == nil || !slices.Contains(lr.client.PostLogoutRedirectURIs, uri) {
			return nil, errBadLogout{"The post_logout_redirect_uri is not registered for this application."}
		}
		// RP-Initiated Logout §3: without an id_token_hint issued to
		// that client the OP "MUST NOT perform post-logout redirection"
		// (a registered URI — even one a self-registered client chose —
		// would otherwise be an open redirector). The user is signed out
		// and sees the signed-out page instead.
		if lr.hint != nil && hintClient != "" && hintClient == lr.client.ID {
			lr.redirect = uri
		}
	}
	return lr, nil
}

// logout is GET /oauth2/logout. With a valid id_token_hint for the
// signed-in user (or no session at all) the session ends at once; without
// one a cross-site link could sign the user out, so a confirmation form
// (POST, CSRF-protected) is shown instead.
func (h *Handler) logout(c *gin.Context) {
	h.rpLogout(c.Writer, c.Request, c.Request.URL.Query())
}

// rpLogout serves an RP-initiated logout request with the parameters q
// (the query of a GET or the body of a POST, RP-Initiated Logout §2: the
// OP "MUST support the use of the HTTP GET and POST methods").
func (h *Handler) rpLogout(w http.ResponseWriter, r *http.Request, q url.Values) {
	ctx := r.Context()
	lr, err := h.parseLogout(ctx, q)
	if h.logoutFailed(w, r, err) {
		return
	}
	cur, err := h.sessions.Current(ctx, r)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		h.serverError(w, r, err)
		return
	}
	signedIn := err == nil
	if !signedIn || (lr.hint != nil && lr.hint.Sub == cur.UserID) {
		h.endSession(w, r, lr)
		return
	}
	csrf, err := h.sessions.CSRFToken(w, r, "logout")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	params := map[string]string{}
	for _, k := range []string{"id_token_hint", "post_logout_redirect_uri", "state", "client_id"} {
		if v := q.Get(k); v != "" {
			params[k] = v
		}
	}
	name := ""
	if lr.client != nil {
		name = lr.client.Name
	}
	ui.Render(w, http.StatusOK, "logout", "Sign out", struct {
		ClientName string
		CSRF       string
		Params     map[string]string
	}{name, csrf, params})
}

// logoutConfirm is POST /oauth2/logout: the confirmation form (it carries
// csrf_token), or else an RP-initiated logout request sent by POST (issue
// 13 item 15; zitadel/oidc and openid-client post it), handled exactly as
// the GET — so without a matching id_token_hint it only shows the
// confirmation form, and a cross-site POST cannot sign anyone out.
func (h *Handler) logoutConfirm(c *gin.Context) {
	w, r := c.Writer, c.Request
	if err := r.ParseForm(); err != nil {
		ui.Error(w, http.StatusBadRequest, "Cannot complete sign-out", "The request could not be read.", "invalid_request")
		return
	}
	if !r.PostForm.Has("csrf_token") {
		h.rpLogout(w, r, r.PostForm)
		return
	}
	if err := h.cop.Check(r); err != nil || !h.sessions.CheckCSRF(r, "logout", r.PostFormValue("csrf_token")) {
		ui.Error(w, http.StatusForbidden, "Request refused",
			"This form was not sent from this site or has expired. Reload the page and try again.", "csrf")
		return
	}
	lr, err := h.parseLogout(r.Context(), r.PostForm)
	if h.logoutFailed(w, r, err) {
		return
	}
	h.endSession(w, r, lr)
}

func (h *Handler) logoutFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	if err == nil {
		return false
	}
	var bad errBadLogout
	if errors.As(err, &bad) {
		ui.Error(w, http.StatusBadRequest, "Cannot complete sign-out", bad.msg, "invalid_request")
		return true
	}
	h.serverError(w, r, err)
	return true
}

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request, lr *logoutRequest) {
	ended, err := h.sessions.Logout(r.Context(), w, r)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		h.serverError(w, r, err)
		return
	}
	if err == nil {
		h.log.InfoContext(r.Context(), "oidc: signed out", "user_id", ended.UserID, "client_id", lr.clientID)
	}
	if lr.redirect == "" {
		ui.SignedOut(w)
		return
	}
	u, err := url.Parse(lr.redirect)
	if err != nil {
		ui.SignedOut(w)
		return
	}
	if lr.state != "" {
		q := u.Query()
		q.Set("state", lr.state)
		u.RawQuery = q.Encode()
	}
	seeOther(w, r, u.String())
}
