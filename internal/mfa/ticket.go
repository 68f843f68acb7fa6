package mfa

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrTicket: a ticket is malformed, forged, of another kind or expired.
var ErrTicket = errors.New("mfa: invalid or expired ticket")

// maxTicketLength bounds a ticket a browser sends back (cookie or form).
const maxTicketLength = 8 << 10

type ticket struct {
	Exp  int64           `json:"exp"`
	Body json.RawMessage `json:"body"`
}

// SealTicket seals v (JSON) for the browser to carry between two steps of
// a ceremony — the sign-in waiting for its second factor, a WebAuthn
// challenge — encrypted and authenticated with the system secret, bound
// to kind and valid for ttl. The browser can neither read nor change it.
func (s *Service) SealTicket(kind string, v any, ttl time.Duration) (string, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("mfa: ticket: %w", err)
	}
	pt, err := json.Marshal(ticket{Exp: s.now().Add(ttl).Unix(), Body: body})
	if err != nil {
		return "", fmt.Errorf("mfa: ticket: %w", err)
	}
	sealed, err := s.ring.Seal(pt, []byte("sesame/ticket\x00"+kind))
	if err != nil {
		return "", fmt.Errorf("mfa: seal ticket: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// OpenTicket opens a ticket of kind into v; ErrTicket if it is not one
// this server sealed for kind, or it expired.
func (s *Service) OpenTicket(kind, tok string, v any) error {
	if tok == "" || len(tok) > maxTicketLength {
		return ErrTicket
	}
	sealed, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return ErrTicket
	}
	pt, err := s.ring.Open(sealed, []byte("sesame/ticket\x00"+kind))
	if err != nil {
		return ErrTicket
	}
	var t ticket
	if err := json.Unmarshal(pt, &t); err != nil || s.now().Unix() >= t.Exp {
		return ErrTicket
	}
	if err := json.Unmarshal(t.Body, v); err != nil {
		return ErrTicket
	}
	return nil
}
