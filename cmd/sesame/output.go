package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/sesameauth/sesame/storage"
)

// listJSON is the shape of every list with --json, the same as the admin
// API's: {"items": [...], "next_cursor": "..."}.
type listJSON[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns for people.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cols ...string) {
	for i, c := range cols {
		cols[i] = cell(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cols, "\t"))
}

// cell is c as a table shows it: quoted Go-style (strconv.Quote) when it
// holds anything but printable characters (issue 13 item 19). Much of what
// the tables show comes from strangers (a self-registered client's name,
// an audited client id), and a terminal escape, a bidi override or a tab
// would otherwise rewrite the operator's screen or break the columns.
func cell(c string) string {
	if !utf8.ValidString(c) || strings.IndexFunc(c, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(c)
	}
	return c
}

func (t *table) flush() error { return t.tw.Flush() }

// kv prints "key  value" pairs, one per line.
func kv(w io.Writer, pairs ...string) error {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	for i := 0; i+1 < len(pairs); i += 2 {
		t.row(pairs[i], pairs[i+1])
	}
	return t.flush()
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// flushPage prints one page of a list: the table, then how to get the
// next page when there is one.
func flushPage(w io.Writer, t *table, next string) error {
	if err := t.flush(); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(w, "(more: --cursor %s)\n", next)
	}
	return nil
}

// addPageFlags registers the paging flags every list command shares.
func addPageFlags(f *pflag.FlagSet, limit *int, cursor *string) {
	f.IntVar(limit, "limit", storage.DefaultListLimit, "page size (max 500)")
	f.StringVar(cursor, "cursor", "", "cursor of the next page")
}
