package audit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestTheCatalogueListsEveryAction: every Action constant declared in
// this package is in Catalogue exactly once, under the group its name
// starts with, so the audit filter can never lack one.
func TestTheCatalogueListsEveryAction(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "actions.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]string{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Action") {
					continue
				}
				v, err := strconv.Unquote(vs.Values[i].(*ast.BasicLit).Value)
				if err != nil {
					t.Fatal(err)
				}
				declared[v] = name.Name
			}
		}
	}
	if len(declared) < 20 {
		t.Fatalf("only %d actions declared", len(declared))
	}
	seen := map[string]bool{}
	for _, g := range Catalogue {
		for _, a := range g.Actions {
			if seen[a] {
				t.Errorf("%s is listed twice", a)
			}
			seen[a] = true
			if !strings.HasPrefix(a, g.Name+".") {
				t.Errorf("%s is listed under %s", a, g.Name)
			}
			if _, ok := declared[a]; !ok {
				t.Errorf("%s is listed but not declared", a)
			}
		}
	}
	for v, name := range declared {
		if !seen[v] {
			t.Errorf("%s (%s) is not in the catalogue: the audit filter would lack it", name, v)
		}
	}
	if got := FilterActions(); !slices.Contains(got, "request") || !slices.Contains(got, ActionRequestChecked) {
		t.Errorf("filter: %v", got)
	}
}

// TestEveryActionHasALabel: history lists show every action in words.
func TestEveryActionHasALabel(t *testing.T) {
	for _, g := range Catalogue {
		if ActionLabel(g.Name) == g.Name {
			t.Errorf("group %s has no label", g.Name)
		}
		for _, a := range g.Actions {
			if ActionLabel(a) == a {
				t.Errorf("action %s has no label", a)
			}
		}
	}
	if ActionLabel(ActionRequestApproved) != "Request approved" {
		t.Errorf("request.approved reads %q", ActionLabel(ActionRequestApproved))
	}
}
