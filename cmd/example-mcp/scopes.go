package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sesameauth/sesame/rs"
)

// requireToolScopes refuses a tools/call whose tool needs a scope the
// token lacks, at the HTTP layer: 403 with
// `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"`, which
// is what the MCP authorization spec asks for ("Scope challenge
// handling") and what makes a client step up (ask the user for the
// missing scope and retry) instead of showing a tool error. The
// challenge is rs.RequireScopes's, so it names the metadata document
// like every other refusal.
//
// It reads the JSON-RPC body to learn the tool's name. Anything it cannot
// parse goes on to the SDK, which answers the protocol error; each tool
// checks its scope again itself (tools.go), so a body parsed differently
// here and in the SDK can change the form of the refusal, never the
// decision.
func requireToolScopes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		// The SDK refuses larger bodies (413); reading one byte more
		// than its limit lets it see that, as the body is handed on whole.
		body, err := io.ReadAll(io.LimitReader(r.Body, mcp.DefaultMaxRequestBodyBytes+1))
		r.Body.Close()
		if err != nil {
			http.Error(w, "cannot read the request body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if need := scopesFor(calledTools(body)); len(need) > 0 {
			rs.RequireScopes(need...)(next).ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// calledTools returns the names of the tools a JSON-RPC message (or a
// batch of them, which older protocol versions allow) calls.
func calledTools(body []byte) []string {
	raws := []json.RawMessage{body}
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '[' {
		if json.Unmarshal(b, &raws) != nil {
			return nil
		}
	}
	var names []string
	for _, raw := range raws {
		// The SDK's own decoder, so the method is read as the SDK reads it.
		msg, err := jsonrpc.DecodeMessage(raw)
		if err != nil {
			continue
		}
		req, ok := msg.(*jsonrpc.Request)
		if !ok || req.Method != "tools/call" {
			continue
		}
		var p struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(req.Params, &p) == nil && p.Name != "" {
			names = append(names, p.Name)
		}
	}
	return names
}

// scopesFor is the union of the scopes the named tools need; an unknown
// tool needs none here (the SDK answers that it does not exist).
func scopesFor(tools []string) []string {
	var need []string
	for _, t := range tools {
		if s, ok := toolScopes[t]; ok && !slices.Contains(need, s) {
			need = append(need, s)
		}
	}
	return need
}
