package admin

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

const openAPIPath = "../../docs/openapi.yaml"

func loadOpenAPI(t *testing.T) (libopenapi.Document, validator.Validator) {
	t.Helper()
	spec, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatalf("parse %s: %v", openAPIPath, err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	return doc, v
}

// TestOpenAPIDocumentIsValidAndMatchesTheRoutes checks docs/openapi.yaml
// against the OpenAPI 3.1 schema and against the routes Mount really
// registers, both ways.
func TestOpenAPIDocumentIsValidAndMatchesTheRoutes(t *testing.T) {
	doc, v := loadOpenAPI(t)
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("openapi.yaml: %s: %s", e.Message, e.Reason)
		}
		t.FailNow()
	}
	if !strings.HasPrefix(doc.GetVersion(), "3.1") {
		t.Fatalf("OpenAPI version %s, want 3.1", doc.GetVersion())
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("build model: %v", err)
	}
	documented := map[string]bool{}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}

	gin.SetMode(gin.TestMode)
	r := gin.New()
	(&Handler{}).Mount(r)
	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	mounted := map[string]bool{}
	for _, rt := range r.Routes() {
		mounted[rt.Method+" "+param.ReplaceAllString(rt.Path, "{$1}")] = true
	}
	if missing := diff(mounted, documented); len(missing) > 0 {
		t.Errorf("routes not documented in openapi.yaml: %v", missing)
	}
	if extra := diff(documented, mounted); len(extra) > 0 {
		t.Errorf("documented routes that do not exist: %v", extra)
	}
	if len(mounted) < 25 {
		t.Fatalf("only %d routes mounted", len(mounted))
	}
}

func diff(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// TestResponsesMatchTheOpenAPIDocument validates real answers (success and
// error) against the documented schemas, so field names cannot drift.
func TestResponsesMatchTheOpenAPIDocument(t *testing.T) {
	_, v := loadOpenAPI(t)
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st, withSignup(app.SignupInvite))
		check := func(method, path, token string, body string, want int) []byte {
			t.Helper()
			req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := e.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b := readAll(t, resp)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
			}
			resp.Body = io.NopCloser(bytes.NewReader(b))
			// The validator matches the request against the servers URL.
			vreq, _ := http.NewRequest(method, "http://localhost:8080"+path, strings.NewReader(body))
			vreq.Header = req.Header
			if ok, errs := v.ValidateHttpResponse(vreq, resp); !ok {
				for _, ve := range errs {
					t.Errorf("%s %s: %s: %s %v", method, path, ve.Message, ve.Reason, ve.SchemaValidationErrors)
				}
			}
			return b
		}
		tok := e.adminToken
		created := check("POST", "/admin/clients", tok, `{"client_name":"c","grant_types":["client_credentials"],"scope":"read"}`, 201)
		id := regexp.MustCompile(`"client_id":"([^"]+)"`).FindSubmatch(created)[1]
		check("GET", "/admin/clients?limit=1", tok, "", 200)
		check("GET", "/admin/clients/"+string(id), tok, "", 200)
		check("PATCH", "/admin/clients/"+string(id), tok, `{"client_name":"d"}`, 200)
		check("POST", "/admin/clients/"+string(id)+"/unlock", tok, "", 200)
		check("POST", "/admin/clients/nope/unlock", tok, "", 404)
		check("POST", "/admin/clients", tok, `{"grant_types":["implicit"]}`, 400)
		check("GET", "/admin/clients/nope", tok, "", 404)
		check("GET", "/admin/clients", "", "", 401)
		check("POST", "/admin/users", tok, `{"username":"zoe","password":"pw-long-enough"}`, 201)
		check("GET", "/admin/users", tok, "", 200)
		check("POST", "/admin/users/invite", tok, `{"email":"yves@example.com"}`, 201)
		check("POST", "/admin/users/invite", tok, `{"email":"not an address"}`, 400)
		check("POST", "/admin/users", tok, `{"username":"xena","password":"pw-long-enough","email":"xena@example.com"}`, 201)
		check("POST", "/admin/users/invite", tok, `{"email":"xena@example.com"}`, 409)
		check("GET", "/admin/users/zoe/consents", tok, "", 200)
		check("GET", "/admin/users/zoe/tokens", tok, "", 200)
		check("GET", "/admin/users/nobody/tokens", tok, "", 404)
		check("POST", "/admin/users/zoe/unlock", tok, "", 200)
		check("POST", "/admin/users/nobody/unlock", tok, "", 404)
		check("POST", "/admin/groups", tok, `{"name":"staff","description":"d"}`, 201)
		check("POST", "/admin/groups", tok, `{"name":"Staff"}`, 409)
		check("PUT", "/admin/groups/staff/members/zoe", tok, "", 201)
		check("PUT", "/admin/groups/staff/members/zoe", tok, "", 200)
		check("GET", "/admin/groups", tok, "", 200)
		check("GET", "/admin/groups/staff", tok, "", 200)
		check("DELETE", "/admin/groups/staff/members/zoe", tok, "", 204)
		check("DELETE", "/admin/groups/staff", tok, "", 204)
		check("GET", "/admin/groups/staff", tok, "", 404)
		check("GET", "/admin/upstreams", tok, "", 200)
		check("GET", "/admin/keys", tok, "", 200)
		check("GET", "/admin/audit?limit=5", tok, "", 200)
		check("POST", "/admin/tokens/revoke", tok, `{"client_id":"`+string(id)+`"}`, 200)
		rt := check("POST", "/admin/registration-tokens", tok, `{"max_uses":1}`, 201)
		iat := regexp.MustCompile(`"token":"([^"]+)"`).FindSubmatch(rt)[1]
		check("GET", "/admin/registration-tokens", tok, "", 200)
		reg := check("POST", "/oauth2/register", string(iat), `{"redirect_uris":["https://a.example.com/cb"],"client_name":"r"}`, 201)
		rat := regexp.MustCompile(`"registration_access_token":"([^"]+)"`).FindSubmatch(reg)[1]
		rid := regexp.MustCompile(`"client_id":"([^"]+)"`).FindSubmatch(reg)[1]
		check("GET", "/oauth2/register/"+string(rid), string(rat), "", 200)
		check("POST", "/oauth2/register", "", `{}`, 401)
	})

	// The validator itself must catch a drifted field, or the checks above prove nothing.
	req, _ := http.NewRequest("GET", "http://localhost:8080/admin/clients/x", nil)
	bad := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"client_id": 5, "name": "renamed field"}`))}
	if ok, _ := v.ValidateHttpResponse(req, bad); ok {
		t.Fatal("the validator accepted a Client with a numeric client_id and missing fields")
	}
	// The same for the invitation: /admin/users/invite must be matched as
	// itself, not as /admin/users/{id}.
	req, _ = http.NewRequest("POST", "http://localhost:8080/admin/users/invite", strings.NewReader(`{"email":"a@example.com"}`))
	req.Header.Set("Content-Type", "application/json")
	bad = &http.Response{StatusCode: 201, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"email":"a@example.com","url":"http://x/signup?invite=t","expires_at":"2026-01-01T00:00:00Z","queued":true}`))}
	if ok, _ := v.ValidateHttpResponse(req, bad); ok {
		t.Fatal("the validator accepted an Invitation with link renamed to url")
	}
}
