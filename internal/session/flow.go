package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// Flow states. oidc creates a flow in FlowLogin (no usable session) or
// FlowConsent (signed in, consent needed); web moves FlowLogin →
// FlowAuthenticated after the password check and FlowConsent →
// FlowConsented/FlowDenied on the consent form; oidc then moves the flow
// to FlowDone exactly once (a compare-and-swap, so a replayed URL cannot
// mint a second code) and deletes it.
const (
	FlowLogin = "login"
	// FlowStepUp: signed in, but the request needs a second factor the
	// session lacks (acr_values, the client's --require-mfa, SESAME_MFA):
	// web asks only for that factor, then moves the flow to
	// FlowAuthenticated with the upgraded session.
	FlowStepUp        = "step_up"
	FlowAuthenticated = "authenticated"
	FlowConsent       = "consent"
	FlowConsented     = "consented"
	FlowDenied        = "denied"
	FlowDone          = "done"
)

// FlowLifetime is how long a user has to finish login and consent.
const FlowLifetime = 15 * time.Minute

// ErrFlowNotFound means the flow handle is unknown or expired.
var ErrFlowNotFound = errors.New("session: authorization request not found or expired")

// FlowRequest is the payload of storage.AuthFlow.Request.
type FlowRequest struct {
	// Query is the original authorization request (url.Values encoded);
	// oidc re-validates it when the flow comes back.
	Query string `json:"query"`
	// Scopes and Audience are what the client asked for (after fosite's
	// validation), shown on the consent page.
	Scopes   []string `json:"scopes"`
	Audience []string `json:"audience,omitempty"`
	// LoginHint prefills the username field.
	LoginHint string `json:"login_hint,omitempty"`
	// Granted is the set of scopes the user allowed on the consent page.
	Granted []string `json:"granted,omitempty"`
	// MFA: the request needs two factors (oidc decides, app.MFAPolicy),
	// so a user without a second factor enrols one at sign-in.
	MFA bool `json:"mfa,omitempty"`
}

// Encode serializes the payload for AuthFlow.Request.
func (f FlowRequest) Encode() []byte {
	b, err := json.Marshal(f)
	if err != nil {
		// Only strings and string slices: Marshal cannot fail.
		panic("session: encode flow: " + err.Error())
	}
	return b
}

// DecodeFlowRequest parses AuthFlow.Request.
func DecodeFlowRequest(b []byte) (FlowRequest, error) {
	var f FlowRequest
	if err := json.Unmarshal(b, &f); err != nil {
		return FlowRequest{}, fmt.Errorf("session: decode flow: %w", err)
	}
	return f, nil
}

// NewFlowHandle returns a random handle for the browser and the id under
// which the flow is stored (its hash).
func NewFlowHandle() (handle, id string, err error) {
	handle, err = secret.RandomToken(tokenBytes)
	if err != nil {
		return "", "", err
	}
	return handle, FlowID(handle), nil
}

// FlowID is the storage id of a flow handle.
func FlowID(handle string) string { return secret.HashToken(handle) }

// LoadFlow returns the flow of handle and its payload; ErrFlowNotFound if
// it is unknown or expired at now.
func LoadFlow(ctx context.Context, store storage.FlowStore, handle string, now time.Time) (storage.AuthFlow, FlowRequest, error) {
	if handle == "" {
		return storage.AuthFlow{}, FlowRequest{}, ErrFlowNotFound
	}
	f, err := store.GetFlow(ctx, FlowID(handle))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.AuthFlow{}, FlowRequest{}, ErrFlowNotFound
	}
	if err != nil {
		return storage.AuthFlow{}, FlowRequest{}, fmt.Errorf("session: load flow: %w", err)
	}
	if !now.Before(f.ExpiresAt) {
		return storage.AuthFlow{}, FlowRequest{}, ErrFlowNotFound
	}
	req, err := DecodeFlowRequest(f.Request)
	if err != nil {
		return storage.AuthFlow{}, FlowRequest{}, err
	}
	return f, req, nil
}
