package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTablesQuoteStrangersInput (issue 13 item 19): what a stranger puts
// into the store must not reach the operator's terminal raw. Reproduced
// against a running `sesame serve`:
//   - a token request whose client_id carries a terminal escape is refused
//     (not VSCHAR, RFC 6749 App. A) before any audit row is written — it
//     used to land in the audit log as a failed client authentication and
//     clear the screen of whoever ran `sesame audit list`;
//   - a self-registered client named with a bidi override (a printable-
//     looking name is allowed) shows quoted in `clients list` and
//     `audit list`.
func TestTablesQuoteStrangersInput(t *testing.T) {
	backends(t, func(t *testing.T, c *cli) {
		c.env = append(c.env, "SESAME_OPEN_REGISTRATION=true")
		c.ok("", "migrate", "up")
		addr := freeAddr(t)
		srv := startServe(t, c, addr)
		defer srv.stop(t)
		base := "http://" + addr

		const esc = "evil\x1b[2J\x1b]0;owned\x07"
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {esc}, "client_secret": {"x"}}
		res, err := http.PostForm(base+"/oauth2/token", f)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
			t.Errorf("client_id with escapes: %d %v, want 400 invalid_request", res.StatusCode, body["error"])
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(esc), "x")
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("Basic client id with escapes: %d, want 400", res.StatusCode)
		}

		const bidi = "invoice\u202egnp.exe"
		reg, _ := json.Marshal(map[string]any{"client_name": bidi, "redirect_uris": []string{"https://x.example.com/cb"}})
		res, err = http.Post(base+"/oauth2/register", "application/json", bytes.NewReader(reg))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("register: %d", res.StatusCode)
		}

		audit := c.ok("", "audit", "list")
		clients := c.ok("", "clients", "list")
		for name, out := range map[string]string{"audit list": audit, "clients list": clients} {
			if strings.ContainsAny(out, "\x1b\x07\u202e") {
				t.Errorf("%s prints raw control characters:\n%q", name, out)
			}
			if !strings.Contains(out, `\u202e`) {
				t.Errorf("%s does not show the quoted name:\n%s", name, out)
			}
		}
		if strings.Contains(audit, "evil") {
			t.Errorf("a client id outside VSCHAR was audited:\n%s", audit)
		}
	})
}
