package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"
	fstorage "github.com/ory/fosite/storage"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// Token exchange (RFC 8693), our own grant handler beside fosite's (fosite
// v0.49 has none). A confidential client allowed the grant presents an
// access token of this server (the subject token) and gets a new access
// token for another audience:
//
//   - impersonation (no actor_token): the new token is the subject's, for
//     the exchanging client; an act claim the subject token already had is
//     kept, so a delegated token never turns into an undelegated one;
//   - delegation (actor_token, an access token of this server issued to the
//     exchanging client): the new token carries act {sub, client_id} of
//     the actor, with the subject token's own act nested inside (§4.1).
//
// Both tokens are checked by VerifyAccessToken, the one access-token check
// (revocation, expiry, denylist, foreign or other kinds of tokens). Policy:
//
//   - the audience: `audience` values or registered `resource` URIs (RFC
//     8707, app.ResolveTargets) among the client's TokenExchangeAudiences;
//     none asked for means all of them; anything else is invalid_target;
//   - the scope: never wider than the subject token's, nor than the
//     client's allowed scopes (invalid_scope); none asked for means the
//     subject token's scopes the client may hold;
//   - the lifetime: the client's access-token lifetime, cut to the
//     subject's (and actor's) expiry, so an exchange never extends access;
//   - no refresh token and no ID token.
//
// The new token is a grant of its own (its subject is the subject token's,
// so revoking the user's grants or the client's tokens reaches it); its
// issuance and the audit row token.exchanged are one transaction.

// Token type identifiers (RFC 8693 §3).
const (
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
)

// auditTokenExchanged names the audit event of an exchange.
const auditTokenExchanged = "token.exchanged"

// claimAct is the actor claim (RFC 8693 §4.1).
const claimAct = "act"

// maxActDepth bounds the delegation chain (nested act claims): each
// exchange adds one, and every token carries the whole chain.
const maxActDepth = 5

// maxExchangeAudiences bounds the audience values of one request.
const maxExchangeAudiences = app.MaxAudiences

// Actor is an act claim (RFC 8693 §4.1): who acts for the token's subject,
// with the prior actors nested.
type Actor struct {
	Sub      string `json:"sub"`
	ClientID string `json:"client_id,omitempty"`
	Act      *Actor `json:"act,omitempty"`
}

func (a *Actor) clone() *Actor {
	if a == nil {
		return nil
	}
	c := *a
	c.Act = a.Act.clone()
	return &c
}

func (a *Actor) depth() int {
	n := 0
	for ; a != nil; a = a.Act {
		n++
	}
	return n
}

// actorFromClaim reads an act claim of a verified JWT (a JSON object);
// nesting beyond maxActDepth is dropped (no token of ours has it).
func actorFromClaim(v any, depth int) *Actor {
	m, ok := v.(map[string]any)
	if !ok || depth >= maxActDepth {
		return nil
	}
	a := &Actor{}
	a.Sub, _ = m["sub"].(string)
	a.ClientID, _ = m["client_id"].(string)
	a.Act = actorFromClaim(m[claimAct], depth+1)
	return a
}

// exchangeRequest is what HandleTokenEndpointRequest decided, for the
// audit row.
type exchangeRequest struct {
	subject AccessToken
	actor   *AccessToken
}

func (st *reqState) setExchange(ex *exchangeRequest) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.exchanged = ex
}

func (st *reqState) exchange() *exchangeRequest {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.exchanged
}

// exchangeGrantHandler is the token endpoint handler of the token
// exchange grant.
type exchangeGrantHandler struct{ h *Handler }

var _ fosite.TokenEndpointHandler = exchangeGrantHandler{}

func (exchangeGrantHandler) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool {
	return false
}

func (exchangeGrantHandler) CanHandleTokenEndpointRequest(_ context.Context, ar fosite.AccessRequester) bool {
	return ar.GetGrantTypes().ExactOne(app.TokenExchangeGrantType)
}

// errBadToken is RFC 8693 §2.2.2: an invalid or unacceptable subject_token
// or actor_token is invalid_request (not invalid_grant).
func errBadToken(hint string) error { return fosite.ErrInvalidRequest.WithHint(hint) }

// HandleTokenEndpointRequest is RFC 8693 §2.1–2.2: check both tokens and
// decide the new token's subject, actor, audience, scope and lifetime.
func (x exchangeGrantHandler) HandleTokenEndpointRequest(ctx context.Context, ar fosite.AccessRequester) error {
	if !x.CanHandleTokenEndpointRequest(ctx, ar) {
		return fosite.ErrUnknownRequest
	}
	h := x.h
	form := ar.GetRequestForm()
	client := ar.GetClient()
	if rt := form.Get("requested_token_type"); rt != "" && rt != TokenTypeAccessToken {
		return fosite.ErrInvalidRequest.WithHintf("Only '%s' can be requested.", TokenTypeAccessToken)
	}
	subject, err := h.exchangedToken(ctx, form.Get("subject_token"), form.Get("subject_token_type"), "subject_token")
	if err != nil {
		return err
	}
	var actor *AccessToken
	switch {
	case form.Get("actor_token") != "":
		a, err := h.exchangedToken(ctx, form.Get("actor_token"), form.Get("actor_token_type"), "actor_token")
		if err != nil {
			return err
		}
		// The actor is the exchanging client, or someone acting through
		// it: a token of another client cannot name its holder as actor.
		if a.ClientID != client.GetID() {
			return errBadToken("The actor_token was issued to another client.")
		}
		actor = &a
	case form.Get("actor_token_type") != "":
		return fosite.ErrInvalidRequest.WithHint("actor_token_type is sent only with an actor_token.")
	}

	aud, err := h.exchangeAudience(ctx, ar)
	if err != nil {
		return err
	}
	scopes, err := h.exchangeScopes(ctx, ar, subject)
	if err != nil {
		return err
	}
	s, ok := ar.GetSession().(*Session)
	if !ok {
		return fosite.ErrServerError.WithDebugf("session is %T", ar.GetSession())
	}
	s.Act = subject.Act.clone()
	if actor != nil {
		s.Act = &Actor{Sub: actor.Subject, ClientID: actor.ClientID, Act: subject.Act.clone()}
	}
	if s.Act.depth() > maxActDepth {
		return errBadToken(fmt.Sprintf("The delegation chain would be longer than %d actors.", maxActDepth))
	}
	ar.SetRequestedScopes(scopes)
	for _, sc := range scopes {
		ar.GrantScope(sc)
	}
	ar.SetRequestedAudience(aud)
	for _, a := range aud {
		ar.GrantAudience(a)
	}
	s.SetSubject(subject.Subject)
	s.Username = subject.Username
	s.ClientID = client.GetID()
	if subject.AMR != nil || subject.ACR != "" {
		s.SetAuthentication(subject.AMR, subject.ACR)
	}
	if subject.Subject != subject.ClientID {
		// A user's token: the groups as of now, if still granted.
		if err := h.grantGroups(ctx, s, scopes); err != nil {
			return h.adapter.fail(ctx, "load groups", err)
		}
	}
	// An exchange never extends access: the new token ends with the
	// subject's (and the actor's) token at the latest.
	life := fosite.GetEffectiveLifespan(client, fosite.GrantType(app.TokenExchangeGrantType), fosite.AccessToken, h.fcfg.AccessTokenLifespan)
	exp := h.now().Add(life)
	for _, t := range []*AccessToken{&subject, actor} {
		if t != nil && !t.ExpiresAt.IsZero() && t.ExpiresAt.Before(exp) {
			exp = t.ExpiresAt
		}
	}
	s.SetExpiresAt(fosite.AccessToken, exp.Truncate(time.Second))
	stateOf(ctx).setExchange(&exchangeRequest{subject: subject, actor: actor})
	return nil
}

// exchangedToken checks a subject_token or actor_token (RFC 8693 §2.1):
// an active access token of this server, of a type we accept, and, when
// bound to a DPoP key, presented with a proof of that key (RFC 9449).
func (h *Handler) exchangedToken(ctx context.Context, token, tokenType, param string) (AccessToken, error) {
	switch tokenType {
	case "":
		return AccessToken{}, fosite.ErrInvalidRequest.WithHintf("The '%s_type' parameter is missing.", param)
	case TokenTypeAccessToken:
	case TokenTypeJWT:
		// Only our own JWT access tokens; VerifyAccessToken refuses the rest.
		if !isJWT(token) {
			return AccessToken{}, errBadToken(fmt.Sprintf("The %s is not a JWT.", param))
		}
	default:
		return AccessToken{}, errBadToken(fmt.Sprintf("The %s_type must be %s or %s.", param, TokenTypeAccessToken, TokenTypeJWT))
	}
	if token == "" {
		return AccessToken{}, fosite.ErrInvalidRequest.WithHintf("The '%s' parameter is missing.", param)
	}
	if len(token) > 8<<10 {
		return AccessToken{}, errBadToken(fmt.Sprintf("The %s is not an active access token of this server.", param))
	}
	t, err := h.VerifyAccessToken(ctx, token)
	if errors.Is(err, ErrInactiveToken) {
		return AccessToken{}, errBadToken(fmt.Sprintf("The %s is not an active access token of this server (unknown, expired or revoked).", param))
	} else if err != nil {
		return AccessToken{}, h.adapter.fail(ctx, "verify "+param, err)
	}
	if t.DPoPJKT != "" && stateOf(ctx).proofJKT() != t.DPoPJKT {
		return AccessToken{}, errBadToken(fmt.Sprintf("The %s is bound to a DPoP key: send a DPoP proof made with that key.", param))
	}
	return t, nil
}

// exchangeAudience decides the new token's audience from `audience` or
// `resource` against the client's TokenExchangeAudiences.
func (h *Handler) exchangeAudience(ctx context.Context, ar fosite.AccessRequester) ([]string, error) {
	var policy []string
	if c, ok := ar.GetClient().(*Client); ok {
		policy = c.c.TokenExchangeAudiences
	}
	resources := ar.GetRequestForm()[ParamResource]
	requested := ar.GetRequestedAudience()
	switch {
	case len(resources) > 0 && len(requested) > 0:
		return nil, fosite.ErrInvalidRequest.WithHint("Send either resource or audience, not both.")
	case len(resources) > 0:
		rs, err := app.ResolveTargets(ctx, h.store, policy, resources)
		if err != nil {
			var te *app.TargetError
			if errors.As(err, &te) {
				return nil, invalidTarget(te.Reason)
			}
			return nil, h.adapter.fail(ctx, "resolve resources", err)
		}
		return resourceURIs(rs), nil
	case len(requested) > maxExchangeAudiences:
		return nil, invalidTarget(fmt.Sprintf("At most %d audience values are accepted.", maxExchangeAudiences))
	case len(requested) > 0:
		for _, a := range requested {
			if !slices.Contains(policy, a) {
				return nil, invalidTarget(fmt.Sprintf("The client may not obtain a token for the audience %q by token exchange.", a))
			}
		}
		return slices.Compact(slices.Clone(requested)), nil
	case len(policy) == 0:
		return nil, invalidTarget("The client may not obtain a token for any audience by token exchange.")
	}
	return slices.Clone(policy), nil
}

// exchangeScopes decides the new token's scopes: the requested ones, each
// held by the subject token and allowed to the client; without a request,
// the subject token's scopes the client may hold.
func (h *Handler) exchangeScopes(ctx context.Context, ar fosite.AccessRequester, subject AccessToken) ([]string, error) {
	allowed := h.fcfg.GetScopeStrategy(ctx)
	clientScopes := ar.GetClient().GetScopes()
	requested := ar.GetRequestedScopes()
	if len(requested) == 0 {
		out := []string{}
		for _, sc := range subject.Scopes {
			if allowed(clientScopes, sc) {
				out = append(out, sc)
			}
		}
		return out, nil
	}
	for _, sc := range requested {
		if !slices.Contains(subject.Scopes, sc) {
			return nil, fosite.ErrInvalidScope.WithHintf("The scope '%s' is wider than the subject token's.", sc)
		}
		if !allowed(clientScopes, sc) {
			return nil, fosite.ErrInvalidScope.WithHintf("The OAuth 2.0 Client is not allowed to request scope '%s'.", sc)
		}
	}
	return slices.Compact(slices.Clone([]string(requested))), nil
}

// PopulateTokenEndpointResponse issues the access token (RFC 8693 §2.2.1)
// and records the exchange in the audit trail in the same transaction.
func (x exchangeGrantHandler) PopulateTokenEndpointResponse(ctx context.Context, ar fosite.AccessRequester, resp fosite.AccessResponder) (err error) {
	if !x.CanHandleTokenEndpointRequest(ctx, ar) {
		return fosite.ErrUnknownRequest
	}
	h := x.h
	st := stateOf(ctx)
	ex := st.exchange()
	if ex == nil {
		return fosite.ErrServerError.WithDebug("token exchange without a checked request")
	}
	at, atSig, err := h.strategy.GenerateAccessToken(ctx, ar)
	if err != nil {
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	ctx, err = fstorage.MaybeBeginTx(ctx, h.adapter)
	if err != nil {
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	defer func() {
		if err != nil {
			if rbErr := fstorage.MaybeRollbackTx(ctx, h.adapter); rbErr != nil {
				h.logger.WarnContext(ctx, "oauth: token exchange rollback", "err", rbErr)
			}
		}
	}()
	if err = h.adapter.CreateAccessTokenSession(ctx, atSig, ar.Sanitize(nil)); err != nil {
		return err
	}
	event := h.exchangeAudit(ctx, ar, ex)
	if aerr := h.store.AppendAudit(ctx, event); aerr != nil {
		return h.adapter.fail(ctx, "audit token exchange", aerr)
	}
	if err = fstorage.MaybeCommitTx(ctx, h.adapter); err != nil {
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	args := []any{"type", auditTokenExchanged, "outcome", "success"}
	for _, k := range []string{"client_id", "sub", "subject_client_id", "actor_sub", "actor_client_id", "audience", "scope"} {
		if v := event.Details[k]; v != "" {
			args = append(args, k, v)
		}
	}
	h.logger.InfoContext(ctx, "audit", append(args, "ip", event.IP)...)
	resp.SetAccessToken(at)
	resp.SetTokenType("bearer")
	resp.SetExpiresIn(time.Until(ar.GetSession().GetExpiresAt(fosite.AccessToken)).Round(time.Second))
	resp.SetScopes(ar.GetGrantedScopes())
	resp.SetExtra("issued_token_type", TokenTypeAccessToken)
	return nil
}

// exchangeAudit is the token.exchanged event: the client that exchanged,
// the subject (and the client its token was issued to), the actor.
func (h *Handler) exchangeAudit(ctx context.Context, ar fosite.AccessRequester, ex *exchangeRequest) storage.AuditEvent {
	clientID := ar.GetClient().GetID()
	d := map[string]string{
		"client_id":         clientID,
		"sub":               ex.subject.Subject,
		"subject_client_id": ex.subject.ClientID,
		"audience":          strings.Join(ar.GetGrantedAudience(), " "),
		"scope":             strings.Join(ar.GetGrantedScopes(), " "),
		"mode":              "impersonation",
	}
	if ex.actor != nil {
		d["mode"] = "delegation"
		d["actor_sub"] = ex.actor.Subject
		d["actor_client_id"] = ex.actor.ClientID
	}
	e := storage.AuditEvent{
		At: h.now().UTC(), Type: auditTokenExchanged, Actor: "client:" + clientID, ClientID: clientID,
		Outcome: "success", Details: d,
	}
	if ex.subject.Subject != ex.subject.ClientID {
		e.UserID = ex.subject.Subject
	}
	c := callerOf(ctx)
	e.IP, e.UserAgent = c.ip, c.userAgent
	if len(e.UserAgent) > 256 {
		e.UserAgent = e.UserAgent[:256]
	}
	return e
}
