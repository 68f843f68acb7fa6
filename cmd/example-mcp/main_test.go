package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		env          map[string]string
		wantResource string
		wantErr      string
	}{
		{"resource is the public URL's /mcp", []string{"--public-url", "https://mcp.example.com/"}, nil, "https://mcp.example.com/mcp", ""},
		{"env supplies the public URL", nil, map[string]string{"EXAMPLE_MCP_PUBLIC_URL": "https://notes.example.com"}, "https://notes.example.com/mcp", ""},
		{"secret without id", []string{"--client-secret", "s"}, nil, "", "go together"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || o.resource() != tc.wantResource {
				t.Fatalf("parseFlags = %+v (resource %q), %v; want resource %q", o, o.resource(), err, tc.wantResource)
			}
		})
	}
}

// TestLoopback: the SDK's DNS-rebinding check stays on for loopback
// public URLs only (handler.go).
func TestLoopback(t *testing.T) {
	for u, want := range map[string]bool{
		"http://127.0.0.1:8082": true, "http://localhost:8082": true, "http://[::1]:8082": true,
		"https://mcp.example.com": false, "http://10.0.0.5:8082": false,
	} {
		if got := (options{publicURL: u}).loopback(); got != want {
			t.Errorf("loopback(%s) = %v, want %v", u, got, want)
		}
	}
}

// TestCalledTools: the HTTP layer finds the tool a body calls as the SDK
// reads it, and ignores everything else.
func TestCalledTools(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"one call", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_note","arguments":{"text":"x"}}}`, []string{"add_note"}},
		{"a batch", `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_notes"}},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_note"}}]`, []string{"list_notes", "add_note"}},
		{"another method", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, nil},
		{"the method name is case-sensitive, as in the SDK", `{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"add_note"}}`, nil},
		{"not JSON", `tools/call add_note`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := calledTools([]byte(tc.body)); !slices.Equal(got, tc.want) {
				t.Fatalf("calledTools = %v, want %v", got, tc.want)
			}
		})
	}
	if got := scopesFor([]string{"add_note", "list_notes", "add_note", "nope"}); !slices.Equal(got, []string{scopeWrite, scopeRead}) {
		t.Fatalf("scopesFor = %v", got)
	}
}
