package mail

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// Limits on what a message may carry. Subjects and recipients come partly
// from strangers (a sign-up form), so they are bounded and single-line.
const (
	MaxAddressLen = 254 // RFC 5321 path limit
	MaxSubjectLen = 200
	MaxBodyLen    = 64 << 10
)

// ErrBadAddress: a recipient that is not one plain address (CR/LF, a
// display name, a list, too long).
var ErrBadAddress = errors.New("mail: not a valid email address")

// CheckAddress accepts exactly one bare address (local@domain) without
// control characters; it is the header-injection guard for every address
// a stranger types.
func CheckAddress(addr string) error {
	if addr == "" || len(addr) > MaxAddressLen || strings.ContainsAny(addr, "\r\n\t\x00<>,;\" ") {
		return ErrBadAddress
	}
	for _, r := range addr {
		if r < 0x20 || r == 0x7f {
			return ErrBadAddress
		}
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" || !strings.Contains(addr[strings.LastIndexByte(addr, '@')+1:], ".") && !strings.HasSuffix(addr, "@localhost") {
		return ErrBadAddress
	}
	return nil
}

// Message is what a use case wants to send.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	Links   []string // absolute URLs the message carries (shown by `sesame mail list`)
}

// Compose checks m and turns it into a queue record due at now.
func Compose(m Message, now time.Time) (storage.Mail, error) {
	if err := CheckAddress(m.To); err != nil {
		return storage.Mail{}, fmt.Errorf("mail: recipient: %w", err)
	}
	if m.Subject == "" || len(m.Subject) > MaxSubjectLen || strings.ContainsAny(m.Subject, "\r\n") {
		return storage.Mail{}, errors.New("mail: subject must be one non-empty line of at most 200 bytes")
	}
	if m.Text == "" || len(m.Text) > MaxBodyLen || len(m.HTML) > MaxBodyLen {
		return storage.Mail{}, errors.New("mail: body must be non-empty text (and optional HTML) of at most 64 KiB each")
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return storage.Mail{}, fmt.Errorf("mail: id: %w", err)
	}
	return storage.Mail{
		ID:            hex.EncodeToString(b[:]),
		Recipient:     m.To,
		Subject:       m.Subject,
		TextBody:      m.Text,
		HTMLBody:      m.HTML,
		Links:         m.Links,
		CreatedAt:     now,
		NextAttemptAt: now,
	}, nil
}
