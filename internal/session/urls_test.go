package session

import "testing"

func TestHandOffURLsEscapeTheHandle(t *testing.T) {
	for got, want := range map[string]string{
		LoginURL("a b&c=d"):    "/login?flow=a+b%26c%3Dd",
		ConsentURL("h1"):       "/consent?flow=h1",
		ResumeURL("x/y?z"):     "/oauth2/authorize?flow=x%2Fy%3Fz",
		FlowURL("/device", ""): "/device?flow=",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
