package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The scopes this server understands, registered with Sesame
// (`sesame resources create --scopes "notes:read notes:write"`), and the
// one each tool needs.
const (
	scopeRead  = "notes:read"
	scopeWrite = "notes:write"
)

var toolScopes = map[string]string{
	"list_notes": scopeRead,
	"add_note":   scopeWrite,
}

func allScopes() []string { return []string{scopeRead, scopeWrite} }

// notes keeps each user's notes in memory, by the token's sub: an
// example's store, gone on restart.
type notes struct {
	mu     sync.Mutex
	byUser map[string][]string
}

func newNotes() *notes { return &notes{byUser: map[string][]string{}} }

type listIn struct{}

type listOut struct {
	Notes []string `json:"notes"`
}

type addIn struct {
	Text string `json:"text" jsonschema:"the note to keep"`
}

type addOut struct {
	Count int `json:"count" jsonschema:"how many notes you have now"`
}

func (n *notes) addTools(s *mcp.Server) {
	mcp.AddTool(s, &mcp.Tool{Name: "list_notes", Description: "List your notes (needs the notes:read scope)."},
		func(ctx context.Context, req *mcp.CallToolRequest, _ listIn) (*mcp.CallToolResult, listOut, error) {
			user, err := caller(req, scopeRead)
			if err != nil {
				return nil, listOut{}, err
			}
			n.mu.Lock()
			defer n.mu.Unlock()
			return nil, listOut{Notes: append([]string{}, n.byUser[user]...)}, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "add_note", Description: "Keep a note (needs the notes:write scope)."},
		func(ctx context.Context, req *mcp.CallToolRequest, in addIn) (*mcp.CallToolResult, addOut, error) {
			user, err := caller(req, scopeWrite)
			if err != nil {
				return nil, addOut{}, err
			}
			if in.Text == "" {
				return nil, addOut{}, errors.New("text is empty")
			}
			n.mu.Lock()
			defer n.mu.Unlock()
			n.byUser[user] = append(n.byUser[user], in.Text)
			return nil, addOut{Count: len(n.byUser[user])}, nil
		})
}

// caller returns the token's subject when the token holds scope. The
// HTTP layer (scopes.go) has refused such calls already with a 403 the
// client can act on; this second check is the one that cannot be
// bypassed by how a request body is parsed. Its refusal is a tool error.
func caller(req *mcp.CallToolRequest, scope string) (string, error) {
	ti := req.Extra.TokenInfo
	if ti == nil || ti.UserID == "" {
		return "", errors.New("unauthenticated")
	}
	if !slices.Contains(ti.Scopes, scope) {
		return "", fmt.Errorf("insufficient_scope: this tool needs %s", scope)
	}
	return ti.UserID, nil
}
