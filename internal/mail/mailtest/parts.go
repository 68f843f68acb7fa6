package mailtest

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"testing"
)

// Parts parses a received message as Sesame sends it: a
// multipart/alternative whose parts it returns decoded (quoted-printable
// undone), keyed by media type ("text/plain", "text/html"). The Subject
// header is decoded from its RFC 2047 form. It fails the test otherwise.
func Parts(t testing.TB, raw []byte) (*netmail.Message, map[string]string) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mailtest: received message does not parse: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("mailtest: Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	out := map[string]string{}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("mailtest: %v", err)
		}
		b, err := io.ReadAll(p) // NextPart decodes quoted-printable
		if err != nil {
			t.Fatalf("mailtest: %v", err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[ct] = string(b)
	}
	if subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err == nil {
		msg.Header["Subject"] = []string{subj}
	}
	return msg, out
}
