package web

import "testing"

func TestCustomScopeDescriptions(t *testing.T) {
	st := scopeText{"api:read": "Read your orders"}
	if got := st.describe("api:read"); got.Title != "Read your orders" || got.Name != "api:read" {
		t.Errorf("configured scope: %+v", got)
	}
	if got := st.describe("api:other"); got.Title != "Use “api:other”" {
		t.Errorf("unconfigured scope: %+v", got)
	}
	if got := st.describe("email"); got.Title != "See your email address" {
		t.Errorf("standard scope overridden: %+v", got)
	}
	if got := st.titles([]string{"api:read", "openid"}); len(got) != 2 || got[0] != "Read your orders" {
		t.Errorf("titles: %v", got)
	}
}
