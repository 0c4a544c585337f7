// Package browsertest holds what the browser tests of several packages
// share: the accessibility check (axe-core, injected into the page) and the
// screenshots a person looks at. Only tests import it.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core's browser build, which `npm ci` installs from the
// module's package-lock.json (make test does it first).
var axeSource = sync.OnceValues(func() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, "node_modules", "axe-core", "axe.min.js"))
	return string(b), err
})

// moduleRoot is the directory of go.mod above the working directory (a
// test runs in its package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// violation is what the tests keep of an axe-core violation.
type violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target json.RawMessage `json:"target"`
		HTML   string          `json:"html"`
	} `json:"nodes"`
}

// CheckAccessible runs axe-core on the page as it is now and fails the
// test on every serious or critical violation, naming the elements.
// Without axe-core installed it fails under CI=true, and otherwise says so
// and checks nothing (run npm ci).
func CheckAccessible(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	src, err := axeSource()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("axe-core is not installed (run npm ci, as make test does): %v", err)
		}
		t.Logf("accessibility of %s not checked: axe-core is not installed (run npm ci): %v", page, err)
		return
	}
	if loaded, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`)); !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](src+";true")); err != nil {
			t.Fatalf("%s: inject axe-core: %v", page, err)
		}
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]violation](`axe.run(document, {resultTypes: ['violations']}).then(r =>
		r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({id: v.id, impact: v.impact,
			help: v.help, nodes: v.nodes.slice(0, 5).map(n => ({target: n.target, html: n.html}))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: run axe-core: %v", page, err)
	}
	for _, v := range found {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, string(n.Target)+" "+n.HTML)
		}
		t.Errorf("%s: %s accessibility violation %s (%s):\n\t%s", page, v.Impact, v.ID, v.Help, strings.Join(where, "\n\t"))
	}
}

// Screenshot saves what the window shows as SCREENSHOT_DIR/name.png when
// that is set, for a person to look at (make screenshots keeps the
// README's).
func Screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	img, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), img, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}
