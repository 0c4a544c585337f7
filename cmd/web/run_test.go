package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"drportal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// syncBuffer is an io.Writer the test can read while run writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls the output for a pattern.
func waitFor(t *testing.T, out *syncBuffer, re *regexp.Regexp, errc <-chan error) []string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		select {
		case err := <-errc:
			t.Fatalf("run returned early: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %s in output:\n%s", re, out.String())
	return nil
}

func TestRunServesOnTheEmbeddedDefaults(t *testing.T) {
	dbURL := testdb.NewURL(t)
	env := map[string]string{"DATABASE_URL": dbURL, "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn", "SIM_SPEED": "100"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"web"}, func(k string) string { return env[k] }, out) }()

	addr := waitFor(t, out, regexp.MustCompile(`listening on (http://\S+)`), errc)[1]
	pw := waitFor(t, out, regexp.MustCompile(`created admin admin@localhost with password (\S+)`), errc)[1]
	if strings.ContainsAny(pw, "0Oo1lI") {
		t.Errorf("the printed password %q has characters people mix up when copying it", pw)
	}
	if !strings.Contains(out.String(), "built-in DWS simulator") {
		t.Errorf("output does not say the cloud is simulated:\n%s", out)
	}

	hc := &http.Client{Timeout: 20 * time.Second}
	res, err := hc.Get(addr + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	page, err := c.Get(addr + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	tok := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(body)
	if tok == nil {
		t.Fatalf("no CSRF token on the sign-in page")
	}
	res, err = c.PostForm(addr+"/signin", url.Values{"_csrf": {string(tok[1])}, "email": {"admin@localhost"}, "password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "simulated-banner") || !strings.Contains(string(body), "DR tasks") {
		t.Fatalf("after sign-in: %d\n%s", res.StatusCode, body)
	}

	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop")
	}
	if strings.Contains(out.String(), pw) && strings.Count(out.String(), pw) != 1 {
		t.Error("the generated password was printed more than once")
	}

	// A second start on the same database creates no second admin and
	// prints no password.
	out2 := &syncBuffer{}
	ctx2, cancel2 := context.WithCancel(context.Background())
	errc2 := make(chan error, 1)
	go func() { errc2 <- run(ctx2, []string{"web"}, func(k string) string { return env[k] }, out2) }()
	waitFor(t, out2, regexp.MustCompile(`listening on`), errc2)
	cancel2()
	if err := <-errc2; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out2.String(), "password") {
		t.Errorf("second start printed a password:\n%s", out2)
	}
}

func TestRunSubcommands(t *testing.T) {
	dbURL := testdb.NewURL(t)
	getenv := func(k string) string { return map[string]string{"DATABASE_URL": dbURL}[k] }
	var out bytes.Buffer
	if err := run(t.Context(), []string{"web", "migrate"}, getenv, &out); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if !strings.Contains(out.String(), "migration(s) applied") {
		t.Errorf("migrate output: %s", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"web", "audit", "verify"}, getenv, &out); err != nil {
		t.Fatalf("audit verify: %v", err)
	}
	if !strings.Contains(out.String(), "audit chain intact") {
		t.Errorf("verify output: %s", out.String())
	}
	if err := run(t.Context(), []string{"web", "frobnicate"}, getenv, &out); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("unknown command: %v", err)
	}

	// grant-admin: the server's way to another admin, audited.
	if err := run(t.Context(), []string{"web", "grant-admin", "nobody@example.com"}, getenv, &out); err == nil {
		t.Error("grant-admin of an unknown account succeeded")
	}
	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(t.Context(), `INSERT INTO users (email, display_name) VALUES ('bea@example.com', 'Bea')`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(t.Context(), []string{"web", "grant-admin", "Bea@Example.com"}, getenv, &out); err != nil {
		t.Fatalf("grant-admin: %v", err)
	}
	var roles, detail string
	if err := pool.QueryRow(t.Context(), `SELECT string_agg(role, ',') FROM user_roles r JOIN users u ON u.id = r.user_id
		WHERE u.email = 'bea@example.com'`).Scan(&roles); err != nil || roles != "admin" || !strings.Contains(out.String(), "bea@example.com is an admin") {
		t.Errorf("after grant-admin: roles %q (%v), output %q", roles, err, out.String())
	}
	if err := pool.QueryRow(t.Context(), `SELECT detail::text FROM audit_events WHERE action = 'user.roles_changed' AND subject_id = 'bea@example.com'`).Scan(&detail); err != nil ||
		!strings.Contains(detail, "web grant-admin") {
		t.Errorf("grant-admin is not audited as the server's: %q %v", detail, err)
	}
}

func TestRunRefusesBadConfiguration(t *testing.T) {
	err := run(t.Context(), []string{"web"}, func(k string) string {
		return map[string]string{"HTTP_ADDR": "nonsense", "DWS_AK": "x"}[k]
	}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "HTTP_ADDR") || !strings.Contains(err.Error(), "DWS_SK") {
		t.Fatalf("error %v does not name the variables", err)
	}
}

// TestRunWarnsAboutAPlainHTTPWebhook: a WEBHOOK_URL that sends
// notifications unencrypted to another host is logged as insecure at
// start; one on this machine is not.
func TestRunWarnsAboutAPlainHTTPWebhook(t *testing.T) {
	dbURL := testdb.NewURL(t)
	for _, tt := range []struct {
		url  string
		warn bool
	}{{"http://hooks.example.com/dr", true}, {"http://127.0.0.1:9/dr", false}} {
		t.Run(tt.url, func(t *testing.T) {
			_, out := startPortal(t, map[string]string{"DATABASE_URL": dbURL, "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn",
				"WEBHOOK_URL": tt.url, "WEBHOOK_SECRET": "webhook-secret-for-tests"})
			warned := regexp.MustCompile(`level=WARN msg="insecure configuration: WEBHOOK_URL: plain http`).MatchString(out.String())
			if warned != tt.warn {
				t.Errorf("warned %v, want %v; output:\n%s", warned, tt.warn, out)
			}
			if strings.Contains(out.String(), "webhook-secret-for-tests") {
				t.Errorf("the output shows the webhook secret:\n%s", out)
			}
		})
	}
}
