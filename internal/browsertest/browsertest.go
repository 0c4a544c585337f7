// Package browsertest holds what the browser tests of several packages
// share: the accessibility check (axe-core, injected into the page) and the
// screenshots a person looks at. Only tests import it.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium finds Debian's Chromium (or CHROMIUM_PATH). Without it the
// test skips, or fails under CI=true, where .ci/run installs it.
func Chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is not installed: apt-get install chromium (or set CHROMIUM_PATH)")
	}
	t.Skip("Chromium is not installed: apt-get install chromium to run the browser tests")
	return ""
}

// New starts a headless Chromium with a fresh profile, off the network,
// showing pages width by height CSS pixels, for at most two minutes; it
// ends with the test.
func New(t *testing.T, width, height int64) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(int(width), int(height)),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	// The first action starts the browser on this long-lived context;
	// steps then run with deadlines of their own.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

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
