package main

import (
	"strings"
	"testing"
)

type resourceJSON struct {
	ID     string `json:"id"`
	URI    string `json:"uri"`
	Name   string `json:"name"`
	Scopes []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"scopes"`
}

func TestResources(t *testing.T) {
	backends(t, func(t *testing.T, c *cli) {
		var r resourceJSON
		c.json(&r, "", "resources", "create", "--uri", "https://notes.example.com", "--name", "Notes",
			"--scopes", "notes:read notes:write", "--scope-description", "notes:read=See your notes",
			"--scope-description", "notes:write=Change and delete your notes", "--json")
		if len(r.ID) != 36 || r.URI != "https://notes.example.com" || r.Name != "Notes" || len(r.Scopes) != 2 ||
			r.Scopes[0].Name != "notes:read" || r.Scopes[0].Description != "See your notes" ||
			r.Scopes[1].Description != "Change and delete your notes" {
			t.Fatalf("resource JSON %+v", r)
		}
		var got resourceJSON
		c.json(&got, "", "resources", "get", "https://notes.example.com", "--json")
		if got.ID != r.ID {
			t.Fatalf("get by URI: %+v", got)
		}
		c.json(&got, "", "resources", "get", r.ID, "--json")
		if got.URI != r.URI {
			t.Fatalf("get by id: %+v", got)
		}
		if out := c.ok("", "resources", "list"); !strings.Contains(out, "notes:read notes:write") || !strings.Contains(out, "https://notes.example.com") {
			t.Fatalf("resources list table:\n%s", out)
		}

		// Update: a scope kept keeps its description; a new one needs one.
		c.fails(1, `scope_descriptions "notes:share": every scope needs a description`, "",
			"resources", "update", r.ID, "--scopes", "notes:read notes:share")
		var up resourceJSON
		c.json(&up, "", "resources", "update", r.ID, "--name", "My notes", "--scopes", "notes:read notes:share",
			"--scope-description", "notes:share=Share your notes with others", "--json")
		if up.Name != "My notes" || len(up.Scopes) != 2 || up.Scopes[0].Description != "See your notes" ||
			up.Scopes[1].Name != "notes:share" {
			t.Fatalf("updated resource %+v", up)
		}

		// Bad input: one line, exit 1, nothing written.
		c.fails(1, `must be https`, "", "resources", "create", "--uri", "http://api.example.com", "--name", "X")
		c.fails(1, `must not have a fragment`, "", "resources", "create", "--uri", "https://api.example.com/#x", "--name", "X")
		c.fails(1, `--uri and --name are required`, "", "resources", "create", "--name", "X")
		c.fails(1, `want SCOPE=TEXT`, "", "resources", "create", "--uri", "https://a.example.com", "--name", "A",
			"--scopes", "a", "--scope-description", "no-equals-sign")
		c.fails(1, `already exists`, "", "resources", "create", "--uri", "https://notes.example.com", "--name", "Dup")
		var all list[resourceJSON]
		c.json(&all, "", "resources", "list", "--json")
		if len(all.Items) != 1 {
			t.Fatalf("bad input wrote something: %+v", all)
		}

		c.ok("", "resources", "delete", "https://notes.example.com")
		c.fails(1, `resource "https://notes.example.com" not found`, "", "resources", "get", "https://notes.example.com")
	})
}
