package admin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// cursorSigner wraps the backends' opaque list cursors in an HMAC so that a
// cursor the API did not hand out is refused as a 400 before it reaches the
// store (storage has no sentinel for a malformed cursor, so a tampered one
// would otherwise surface as a 500).
type cursorSigner struct{ key []byte }

func (s cursorSigner) wrap(cursor string) string {
	if cursor == "" {
		return ""
	}
	raw := base64.RawURLEncoding.EncodeToString([]byte(cursor))
	return raw + "." + s.mac(raw)
}

func (s cursorSigner) unwrap(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	raw, mac, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(s.mac(raw))) {
		return "", badRequest("cursor: not a cursor returned by this API")
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return "", badRequest("cursor: not a cursor returned by this API")
	}
	return string(b), nil
}

func (s cursorSigner) mac(raw string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(raw))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}
