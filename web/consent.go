package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/web/ui"
)

type consentData struct {
	Action     string
	CSRF       string
	Username   string
	ClientName string
	LogoURI    string
	ClientURI  string
	PolicyURI  string
	TermsURI   string
	Scopes     []scopeInfo
	// APIs are the registered APIs (RFC 8707 resources) the token will be
	// for; their scopes are described in their own words.
	APIs []apiInfo
	// Initial stands in for the logo (or behind one that fails to load).
	Initial string
	// RedirectHost is where the browser goes after the decision.
	RedirectHost string
	// Unverified marks a client that registered itself (RFC 7591): its
	// name and logo are its own claims, nobody here checked them.
	Unverified bool
	// DocumentHost is the host of a client identified by a metadata
	// document (its client_id URL): the one fact about it that is known.
	DocumentHost string
	// Remember is the checkbox's default: on only for clients an
	// administrator registered.
	Remember bool
	// SwitchURL restarts the request with prompt=login ("not you?").
	SwitchURL string
}

type consentTarget struct {
	handle string
	flow   storage.AuthFlow
	req    session.FlowRequest
	client storage.Client
	user   storage.User
}

func (t consentTarget) binding() string { return "consent:" + t.handle }

// loadConsent resolves ?flow= and checks that the browser is still signed
// in as the user the flow belongs to. ok=false means a response was
// written.
func (h *Handler) loadConsent(w http.ResponseWriter, r *http.Request) (consentTarget, bool) {
	handle := r.URL.Query().Get(session.FlowParam)
	f, req, err := session.LoadFlow(r.Context(), h.store, handle, h.now())
	if errors.Is(err, session.ErrFlowNotFound) {
		flowExpired(w)
		return consentTarget{}, false
	}
	if err != nil {
		h.serverError(w, r, err)
		return consentTarget{}, false
	}
	if f.State == session.FlowConsented || f.State == session.FlowDenied {
		seeOther(w, r, authorizeURL(handle))
		return consentTarget{}, false
	}
	if f.State != session.FlowConsent {
		flowExpired(w)
		return consentTarget{}, false
	}
	s, err := h.sessions.Current(r.Context(), r)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		h.serverError(w, r, err)
		return consentTarget{}, false
	}
	if err != nil || s.UserID != f.UserID || s.ID != f.SessionID {
		// Signed out (or in as someone else) since the flow started: the
		// decision must come from the user who signed in for it.
		ui.Error(w, http.StatusForbidden, "Your session has changed",
			"Go back to the application and start signing in again.", "login_required")
		return consentTarget{}, false
	}
	c, err := h.store.GetClient(r.Context(), f.ClientID)
	if err != nil {
		h.serverError(w, r, err)
		return consentTarget{}, false
	}
	u, err := h.store.GetUser(r.Context(), f.UserID)
	if err != nil {
		h.serverError(w, r, err)
		return consentTarget{}, false
	}
	return consentTarget{handle: handle, flow: f, req: req, client: c, user: u}, true
}

func (h *Handler) consentPage(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadConsent(w, r)
	if !ok {
		return
	}
	csrf, err := h.sessions.CSRFToken(w, r, t.binding())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	name := t.client.Name
	if name == "" {
		name = t.client.ID
	}
	apis, scopes, err := h.describeTargets(r.Context(), t.req.Audience, t.req.Scopes)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	ui.Render(w, http.StatusOK, "consent", "Allow access", consentData{
		Action:     session.ConsentURL(t.handle),
		CSRF:       csrf,
		Username:   t.user.Username,
		ClientName: name,
		LogoURI:    safeURL(t.client.LogoURI),
		ClientURI:  safeURL(t.client.ClientURI),
		PolicyURI:  safeURL(t.client.PolicyURI),
		TermsURI:   safeURL(t.client.TermsURI),
		Scopes:     scopes,
		APIs:       apis,

		Initial:      initial(name),
		RedirectHost: redirectHost(t.req.Query, t.client.RedirectURIs),
		Unverified:   t.client.RegistrationTokenHash != "" || t.client.FromMetadataDocument(),
		Remember:     t.client.RegistrationTokenHash == "" && !t.client.FromMetadataDocument(),
		DocumentHost: documentHost(t.client),
		SwitchURL:    switchAccountURL(t.req.Query),
	})
}

// documentHost is the host of a metadata-document client's URL, "" for
// registered clients.
func documentHost(c storage.Client) string {
	if !c.FromMetadataDocument() {
		return ""
	}
	u, err := url.Parse(c.ID)
	if err != nil {
		return ""
	}
	return u.Host
}

// initial is the first letter of name, upper case, for the logo fallback.
func initial(name string) string {
	for _, r := range name {
		return strings.ToUpper(string(r))
	}
	return "?"
}

// redirectHost is the host the authorization response will go to: the
// request's redirect_uri, or the client's only registered one.
func redirectHost(query string, registered []string) string {
	q, _ := url.ParseQuery(query)
	raw := q.Get("redirect_uri")
	if raw == "" && len(registered) == 1 {
		raw = registered[0]
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// switchAccountURL is the original authorization request with
// prompt=login, so a person signed in as someone else can sign in again.
func switchAccountURL(query string) string {
	q, err := url.ParseQuery(query)
	if err != nil || q.Get("client_id") == "" {
		return ""
	}
	q.Set("prompt", "login")
	return session.PathAuthorize + "?" + q.Encode()
}

func (h *Handler) consentSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadConsent(w, r)
	if !ok {
		return
	}
	if !h.sessions.CheckCSRF(r, t.binding(), r.PostFormValue("csrf_token")) {
		forbidden(w)
		return
	}
	next := t.flow
	switch r.PostFormValue("decision") {
	case "allow":
		t.req.Granted = t.req.Scopes
		next.Request = t.req.Encode()
		next.State = session.FlowConsented
		if r.PostFormValue("remember") != "" {
			now := h.now()
			c := storage.Consent{UserID: t.user.ID, ClientID: t.client.ID, Scopes: t.req.Scopes,
				Audience: t.req.Audience, CreatedAt: now, UpdatedAt: now}
			if err := h.store.UpsertConsent(r.Context(), c); err != nil {
				h.serverError(w, r, err)
				return
			}
		}
	case "deny":
		next.State = session.FlowDenied
	default:
		ui.Error(w, http.StatusBadRequest, "Choose Allow or Deny",
			"Go back and choose whether to allow access.", "invalid_request")
		return
	}
	if err := h.store.UpdateFlowState(r.Context(), next, session.FlowConsent); err != nil {
		if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
			flowExpired(w)
			return
		}
		h.serverError(w, r, err)
		return
	}
	if next.State == session.FlowConsented {
		h.audit(r.Context(), r, auditConsent, t.user.ID, t.client.ID, outcomeSuccess)
	} else {
		h.audit(r.Context(), r, auditConsentDenied, t.user.ID, t.client.ID, outcomeSuccess)
	}
	seeOther(w, r, authorizeURL(t.handle))
}

// safeURL keeps only http(s) URLs for links and images taken from client
// registration data (html/template already neutralises javascript: URLs;
// this also drops data: and relative ones).
func safeURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return u.String()
}
