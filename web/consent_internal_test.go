package web

import (
	"net/url"
	"testing"
)

func TestConsentPageHelpers(t *testing.T) {
	q := url.Values{"client_id": {"c1"}, "redirect_uri": {"https://app.example.com:8443/cb?x=1"}, "prompt": {"consent"}, "scope": {"openid"}}.Encode()
	if got := redirectHost(q, []string{"https://other.example/cb"}); got != "app.example.com:8443" {
		t.Errorf("redirectHost from the request: %q", got)
	}
	if got := redirectHost("client_id=c1", []string{"https://only.example/cb"}); got != "only.example" {
		t.Errorf("redirectHost from the only registered URI: %q", got)
	}
	if got := redirectHost("client_id=c1", []string{"https://a.example/cb", "https://b.example/cb"}); got != "" {
		t.Errorf("redirectHost guessed among several URIs: %q", got)
	}
	sw, err := url.Parse(switchAccountURL(q))
	if err != nil || sw.Path != "/oauth2/authorize" || sw.Query().Get("prompt") != "login" || sw.Query().Get("client_id") != "c1" ||
		sw.Query().Get("scope") != "openid" {
		t.Errorf("switchAccountURL: %v %v", sw, err)
	}
	if got := switchAccountURL("scope=openid"); got != "" {
		t.Errorf("switchAccountURL without a client: %q", got)
	}
	if initial("élan app") != "É" || initial("") != "?" {
		t.Errorf("initial: %q %q", initial("élan app"), initial(""))
	}
}
