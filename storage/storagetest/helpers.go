package storagetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// base is the suite's reference instant. Its nanoseconds check that a
// backend keeping only micro- or milliseconds still compares equal under
// sameTime (the suite never asks for more than millisecond precision).
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

// zone is a non-UTC zone used for some inputs: a time.Time is an instant,
// so a backend must store and compare instants, not wall-clock text (a
// "20:09+05:00" string sorts after "15:10Z" although it is earlier).
var zone = time.FixedZone("UTC+5", 5*60*60)

// at returns base shifted by d.
func at(d time.Duration) time.Time { return base.Add(d) }

// ms is the form in which the suite compares times: UTC, millisecond
// precision.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func sameTime(a, b time.Time) bool { return ms(a).Equal(ms(b)) }

func ptr(t time.Time) *time.Time { return &t }

var timeType = reflect.TypeFor[time.Time]()

// diffRecord compares two values of the same struct type field by field and
// returns one line per differing field. Times compare with sameTime; nil
// and empty slices and maps are equal (a backend may read either back);
// fields named in jsonFields (string or []byte) compare as JSON documents,
// since a backend may store them as jsonb, which reformats the text.
func diffRecord(want, got any, jsonFields ...string) []string {
	js := map[string]bool{}
	for _, f := range jsonFields {
		js[f] = true
	}
	var out []string
	diffValue("", reflect.ValueOf(want), reflect.ValueOf(got), js, &out)
	return out
}

func diffValue(path string, w, g reflect.Value, js map[string]bool, out *[]string) {
	report := func() {
		*out = append(*out, fmt.Sprintf("%s: got %s, want %s", path, show(g), show(w)))
	}
	switch {
	case w.Type() == timeType:
		if !sameTime(w.Interface().(time.Time), g.Interface().(time.Time)) {
			report()
		}
	case w.Kind() == reflect.Pointer && w.Type().Elem() == timeType:
		switch {
		case w.IsNil() && g.IsNil():
		case w.IsNil() || g.IsNil():
			report()
		default:
			diffValue(path, w.Elem(), g.Elem(), js, out)
		}
	case w.Kind() == reflect.Struct:
		for i := range w.NumField() {
			name := w.Type().Field(i).Name
			if path != "" {
				name = path + "." + name
			}
			diffValue(name, w.Field(i), g.Field(i), js, out)
		}
	case js[path]:
		if !jsonEqual(asBytes(w), asBytes(g)) {
			report()
		}
	case w.Kind() == reflect.Slice || w.Kind() == reflect.Map:
		if w.Len() == 0 && g.Len() == 0 {
			return
		}
		if !reflect.DeepEqual(w.Interface(), g.Interface()) {
			report()
		}
	default:
		if !reflect.DeepEqual(w.Interface(), g.Interface()) {
			report()
		}
	}
}

func show(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case time.Time:
		return ms(x).Format(time.RFC3339Nano)
	case *time.Time:
		if x == nil {
			return "nil"
		}
		return ms(*x).Format(time.RFC3339Nano)
	case []byte:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprintf("%#v", v.Interface())
}

func asBytes(v reflect.Value) []byte {
	if v.Kind() == reflect.String {
		return []byte(v.String())
	}
	return v.Bytes()
}

// jsonEqual reports whether a and b are the same JSON document ("" only
// equals "").
func jsonEqual(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// checkRecord fails the test with every differing field of got.
func checkRecord(t *testing.T, what string, want, got any, jsonFields ...string) {
	t.Helper()
	if d := diffRecord(want, got, jsonFields...); len(d) > 0 {
		t.Errorf("%s differs from what was stored:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// ok fails the test now if err is not nil.
func ok(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// wantErr reports an error unless errors.Is(err, target).
func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// wantCount reports an error unless err is nil and n == want.
func wantCount(t *testing.T, n int, err error, want int, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
	if n != want {
		t.Errorf("%s: got %d, want %d", what, n, want)
	}
}

// contend runs fn in n goroutines released at the same moment and returns
// each goroutine's error, indexed by i.
func contend(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one of errs is nil and that every other is
// loser; it returns the index of the winner (-1 if none).
func oneWinner(t *testing.T, errs []error, loser error, what string) int {
	t.Helper()
	winner, wins := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			winner = i
			wins++
		case !errors.Is(err, loser):
			t.Errorf("%s: caller %d got %v, want nil or %v", what, i, err, loser)
		}
	}
	if wins != 1 {
		t.Errorf("%s: %d of %d concurrent callers won, want exactly 1", what, wins, len(errs))
	}
	return winner
}

// sortedEqual reports a mismatch between two sets of strings, ignoring order.
func sortedEqual(t *testing.T, what string, got, want []string) {
	t.Helper()
	g := append([]string(nil), got...)
	w := append([]string(nil), want...)
	sort.Strings(g)
	sort.Strings(w)
	if len(g) == 0 && len(w) == 0 {
		return
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: got %q, want %q", what, g, w)
	}
}

// orderedEqual reports a mismatch between two ordered lists of strings.
func orderedEqual(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

// page is one page of a paged list, reduced to the keys of its items.
type page struct {
	keys []string
	next string
}

// pageThrough follows cursors from the first page and returns the pages
// seen. It stops at an empty cursor and fails the test on a cursor that
// does not advance (more pages than maxPages).
func pageThrough(t *testing.T, what string, maxPages int, list func(cursor string) (page, error)) []page {
	t.Helper()
	var pages []page
	cursor := ""
	for {
		p, err := list(cursor)
		ok(t, err, fmt.Sprintf("%s page %d", what, len(pages)+1))
		pages = append(pages, p)
		if p.next == "" {
			return pages
		}
		if len(pages) >= maxPages {
			t.Fatalf("%s: still a next cursor after %d pages (%v): the cursor does not advance", what, len(pages), pages)
		}
		cursor = p.next
	}
}

// checkPages checks page sizes, that only the last page has an empty
// cursor, and that the concatenation equals want (so no item is duplicated
// or skipped, and the order is right).
func checkPages(t *testing.T, what string, pages []page, sizes []int, want []string) {
	t.Helper()
	// A page that happens to end exactly at the last item may still carry a
	// cursor (the backend cannot know without looking ahead); the page it
	// leads to is then empty, which is not an error.
	if n := len(pages); n > 1 && len(pages[n-1].keys) == 0 {
		pages = pages[:n-1]
	}
	for i, p := range pages {
		if i > 0 && len(p.keys) < len(pages[0].keys) && p.next != "" {
			t.Errorf("%s: page %d is short (%d items) yet has a next cursor: a short page is the last", what, i+1, len(p.keys))
		}
	}
	var all []string
	var got []int
	for _, p := range pages {
		got = append(got, len(p.keys))
		all = append(all, p.keys...)
	}
	if !reflect.DeepEqual(got, sizes) {
		t.Errorf("%s: page sizes %v, want %v (pages %v)", what, got, sizes, pages)
	}
	orderedEqual(t, what+": items across pages", all, want)
}
