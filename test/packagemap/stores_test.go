package packagemap

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// wholeStore lists the packages whose production code may still declare
// something (a field, a parameter, a variable, an embedded type) of type
// storage.Store. STYLE.md: "each consumer takes only what it uses"; the
// whole Store is the wiring type of the composition root and the
// backends; every consumer now declares its own store (issue 12). The
// test fails when a listed package no longer needs its entry, so the list
// only shrinks.
var wholeStore = map[string]string{
	// Wiring: what opens, decorates and hands out the store.
	"internal/server": "composition root",
	"cmd/sesame":      "opens the store for the CLI",
	"storage/...":     "the interface, its backends and their conformance suite",
	"internal/cimd":   "Store decorates the whole storage.Store (GetClient answers URL client ids); the root hands it on as the store",
}

// TestConsumersTakeNarrowStores fails when a package outside wholeStore
// declares a field, parameter, result, variable or type of type
// storage.Store in a non-test file. A conversion such as the
// compile-time guard `var _ Store = storage.Store(nil)` is an
// expression, not a declaration, and is allowed everywhere.
func TestConsumersTakeNarrowStores(t *testing.T) {
	used := map[string]bool{}
	for _, p := range listModule(t) {
		pkg, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		hits := wholeStoreDecls(t, pkg, p.Dir)
		allowedBy := ""
		for pattern := range wholeStore {
			if matches(pattern, pkg) {
				allowedBy = pattern
			}
		}
		if allowedBy != "" {
			if len(hits) > 0 {
				used[allowedBy] = true
			}
			continue
		}
		for _, h := range hits {
			t.Errorf("%s declares a storage.Store: take an interface of the methods the package calls (see web/store.go), or list the package in wholeStore", h)
		}
	}
	for pattern, why := range wholeStore {
		if !used[pattern] {
			t.Errorf("wholeStore %q (%s) no longer declares a storage.Store: remove it from the list", pattern, why)
		}
	}
}

// wholeStoreDecls returns file:line of every storage.Store used as a
// declared type in the non-test Go files of pkg, found in dir (every
// file, whatever its build constraints).
func wholeStoreDecls(t *testing.T, pkg, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var hits []string
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		path := filepath.Join(dir, name)
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, pos := range storeTypes(f) {
			p := fset.Position(pos)
			hits = append(hits, pkg+"/"+name+":"+strconv.Itoa(p.Line))
		}
	}
	return hits
}

// storeTypes returns the positions of storage.Store in the type of every
// field (struct fields, parameters, results, embedded interfaces),
// variable and type declaration of f.
func storeTypes(f *ast.File) []token.Pos {
	local := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == module+"/storage" {
			local = "storage"
			if imp.Name != nil {
				local = imp.Name.Name
			}
		}
	}
	if local == "" || local == "_" || local == "." {
		return nil
	}
	var found []token.Pos
	inType := func(typ ast.Expr) {
		if typ == nil {
			return
		}
		ast.Inspect(typ, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == local && sel.Sel.Name == "Store" && !slices.Contains(found, sel.Pos()) {
				found = append(found, sel.Pos())
			}
			return false
		})
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Field:
			inType(n.Type)
		case *ast.ValueSpec:
			inType(n.Type)
		case *ast.TypeSpec:
			inType(n.Type)
		}
		return true
	})
	return found
}

// TestStoreTypesFindsDeclarations makes sure the parser check bites on
// each way a package can take the whole store, and lets the guard through.
func TestStoreTypesFindsDeclarations(t *testing.T) {
	for _, c := range []struct {
		name, alias, src string
		want             int
	}{
		{"struct field", "", "type H struct{ store storage.Store }", 1},
		{"embedded in a struct", "", "type H struct{ storage.Store }", 1},
		{"parameter", "", "func New(s storage.Store) {}", 1},
		{"result", "", "func Open() (storage.Store, error) { return nil, nil }", 1},
		{"pointer and slice", "", "var a []*storage.Store", 1},
		{"function literal parameter", "", "var f = func(s storage.Store) {}", 1},
		{"embedded in an interface", "", "type S interface{ storage.Store }", 1},
		{"type alias", "", "type S = storage.Store", 1},
		{"renamed import", "st", "func New(s st.Store) {}", 1},
		{"compile-time guard", "", "var _ storage.UserStore = storage.Store(nil)", 0},
		{"a narrow aggregate", "", "type H struct{ users storage.UserStore }", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := "package p\n\nimport " + c.alias + " \"" + module + "/storage\"\n\n" + c.src
			f, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(storeTypes(f)); got != c.want {
				t.Errorf("found %d declarations of storage.Store, want %d in:\n%s", got, c.want, src)
			}
		})
	}
}
