package app

import (
	"errors"
	"testing"

	"github.com/sesameauth/sesame/storage"
)

func ptr[T any](v T) *T { return &v }

func TestResolveTargets(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		svc, ctx := newService(t, st), t.Context()
		for _, uri := range []string{"https://notes.example.com", "https://todo.example.com"} {
			_, err := svc.CreateResource(ctx, "test", ResourceInput{URI: ptr(uri), Name: ptr("API"),
				Scopes: []string{"read"}, Descriptions: map[string]string{"read": "Read it"}})
			if err != nil {
				t.Fatal(err)
			}
		}
		audience := []string{"https://notes.example.com", "https://unregistered.example.com"}
		rs, err := ResolveTargets(ctx, st, audience, []string{"https://notes.example.com", "https://notes.example.com"})
		if err != nil || len(rs) != 1 || rs[0].URI != "https://notes.example.com" || rs[0].Scopes[0].Description != "Read it" {
			t.Fatalf("allowed, registered resource: %+v, %v", rs, err)
		}
		for name, uris := range map[string][]string{
			"registered but not among the client's audiences": {"https://todo.example.com"},
			"among the audiences but not registered":          {"https://unregistered.example.com"},
			"not a URI":                                       {"notes"},
			"with a fragment":                                 {"https://notes.example.com#x"},
			"one good, one bad":                               {"https://notes.example.com", "https://todo.example.com"},
			"too many":                                        {"https://a.example.com/1", "https://a.example.com/2", "https://a.example.com/3", "https://a.example.com/4", "https://a.example.com/5", "https://a.example.com/6", "https://a.example.com/7", "https://a.example.com/8", "https://a.example.com/9", "https://a.example.com/10", "https://a.example.com/11"},
		} {
			_, err := ResolveTargets(ctx, st, audience, uris)
			var te *TargetError
			if !errors.Is(err, ErrInvalidTarget) || !errors.As(err, &te) || te.Reason == "" {
				t.Errorf("%s: got %v, want invalid_target with a reason", name, err)
			}
		}
	})
}

func TestResourceValidationWritesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		svc, ctx := newService(t, st), t.Context()
		cases := map[string]ResourceInput{
			"no description":         {URI: ptr("https://a.example.com"), Name: ptr("A"), Scopes: []string{"read"}},
			"description of nothing": {URI: ptr("https://a.example.com"), Name: ptr("A"), Descriptions: map[string]string{"x": "X"}},
			"bad scope token":        {URI: ptr("https://a.example.com"), Name: ptr("A"), Scopes: []string{`"q"`}, Descriptions: map[string]string{`"q"`: "Q"}},
			"empty name":             {URI: ptr("https://a.example.com"), Name: ptr("  ")},
			"query":                  {URI: ptr("https://a.example.com/?x=1"), Name: ptr("A")},
			"user info":              {URI: ptr("https://u@a.example.com"), Name: ptr("A")},
			"control character":      {URI: ptr("https://a.example.com"), Name: ptr("A\x07")},
		}
		for name, in := range cases {
			if _, err := svc.CreateResource(ctx, "test", in); !IsValidation(err) {
				t.Errorf("%s: got %v, want a validation error", name, err)
			}
		}
		if rs, _ := svc.ListResources(ctx); len(rs) != 0 {
			t.Fatalf("invalid input stored %+v", rs)
		}
		if _, err := svc.CreateResource(ctx, "test", ResourceInput{URI: ptr("http://127.0.0.1:9000/mcp"), Name: ptr("Local MCP")}); err != nil {
			t.Fatalf("http on loopback must be accepted: %v", err)
		}
		events, _, err := svc.ListAudit(ctx, storage.AuditFilter{Limit: 10})
		if err != nil || len(events) != 1 || events[0].Type != "resource.created" {
			t.Fatalf("audit after one create: %+v, %v", events, err)
		}
	})
}
