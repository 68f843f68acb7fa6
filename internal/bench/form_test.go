package bench

import "testing"

func TestParseFormsPicksLoginThenConsent(t *testing.T) {
	login := []byte(`<html><form action="/search"><input name="q"></form>
<form method=post action="/login?c=1"><input type=hidden name=csrf_token value="tok&amp;1">
<input name=username><input type=password name=password><input type=checkbox name=keep checked>
<input type=checkbox name=off><button type=submit>Sign in</button></form></html>`)
	forms, err := parseForms(login)
	if err != nil {
		t.Fatal(err)
	}
	f, isLogin := pickForm(forms)
	if f == nil || !isLogin {
		t.Fatalf("login form not found in %d forms", len(forms))
	}
	if f.action != "/login?c=1" || f.method != "POST" || f.userField != "username" || f.passField != "password" {
		t.Errorf("login form = %+v", f)
	}
	if got := f.fields.Get("csrf_token"); got != "tok&1" {
		t.Errorf("csrf_token = %q, want the unescaped hidden value", got)
	}
	if f.fields.Get("keep") != "on" || f.fields.Has("off") {
		t.Errorf("checkboxes: want only the checked one submitted, got %v", f.fields)
	}

	consent := []byte(`<form method="POST"><input type="hidden" name="csrf_token" value="c">
<input type="checkbox" name="remember"><button name="decision" value="deny">No</button>
<button type="submit" name="decision" value="allow">Yes</button></form>`)
	forms, err = parseForms(consent)
	if err != nil {
		t.Fatal(err)
	}
	f, isLogin = pickForm(forms)
	if f == nil || isLogin {
		t.Fatal("consent form not recognised")
	}
	if s, ok := f.submitValue("allow"); !ok || s.name != "decision" {
		t.Errorf("allow button = %+v, %v", s, ok)
	}
	if f.fields.Has("decision") || f.fields.Has("remember") {
		t.Errorf("buttons and unchecked boxes must not be pre-filled: %v", f.fields)
	}

	if f, _ := pickForm(mustParse(t, `<p>Hello</p>`)); f != nil {
		t.Errorf("page without forms gave %+v", f)
	}
}

func mustParse(t *testing.T, page string) []*htmlForm {
	t.Helper()
	forms, err := parseForms([]byte(page))
	if err != nil {
		t.Fatal(err)
	}
	return forms
}
