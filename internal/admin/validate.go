package admin

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sesameauth/sesame/internal/app"
)

// checkEmail and checkText apply the rules of app.CreateUser to a profile
// edit (app exports no profile-edit use case, nor these checks); the
// messages are the same so the CLI and the API read alike.
func checkEmail(raw string) (string, error) {
	e := strings.TrimSpace(raw)
	if e == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || len(e) > 254 {
		return "", &app.ValidationError{Field: "email", Value: e, Reason: "must be a plain email address like alice@example.com"}
	}
	return e, nil
}

func checkText(field, raw string, max int) (string, error) {
	v := strings.TrimSpace(raw)
	if !utf8.ValidString(v) {
		return "", &app.ValidationError{Field: field, Reason: "must be valid UTF-8"}
	}
	if utf8.RuneCountInString(v) > max {
		return "", &app.ValidationError{Field: field, Reason: fmt.Sprintf("must be at most %d characters", max)}
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return "", &app.ValidationError{Field: field, Value: v, Reason: "must not contain control characters"}
		}
	}
	return v, nil
}
