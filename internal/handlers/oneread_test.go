package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/auth"
	"drportal/internal/handlers"
	"drportal/internal/portal"
)

// dbRequests counts what the portal sends the database: batches, and
// statements sent on their own (n; each is at least one round trip), and
// the statements of the batches.
type dbRequests struct{ n, batched atomic.Int64 }

func (r *dbRequests) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *dbRequests) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *dbRequests) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *dbRequests) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	r.batched.Add(1)
}
func (r *dbRequests) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TestThePagesViewedMostAreOneRequestToTheDatabase: the task list, a task's
// page, the request list's All and Mine tabs and a request's page read
// their session and their own rows in one batch, for a responder (who is
// shown the most) and for a requester.
func TestThePagesViewedMostAreOneRequestToTheDatabase(t *testing.T) {
	sent := &dbRequests{}
	e := newEnv(t, withTracer(sent))
	id := e.runningTask("dr_oneread01")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.jobs.StopAndCancel(ctx); err != nil { // only the pages talk to the database now
		t.Fatal(err)
	}
	var rid int64
	if err := e.store.Pool().QueryRow(ctx, `SELECT max(id) FROM requests WHERE dr_task_id = $1`, id).Scan(&rid); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"admin@example.com", "req@example.com"} {
		b := e.signedIn(email)
		pages := []string{"/dr-tasks", "/dr-tasks/" + id, "/dr-tasks/" + id + "?calls=1",
			"/requests?tab=all", "/requests?tab=mine&operation=start", fmt.Sprintf("/requests/%d", rid)}
		if email == "admin@example.com" { // who reads the whole history
			pages = append(pages, "/audit", "/audit?q=dr_oneread01&hide_calls=0")
		}
		for _, page := range pages {
			b.get(page) // the connection prepares the page's statements
			sent.n.Store(0)
			// The start was req's: the admin's Mine tab has no row.
			mineOfAdmin := strings.Contains(page, "tab=mine") && email == "admin@example.com"
			if r := b.get(page); r.status != http.StatusOK || strings.Contains(r.text("main"), "dr_oneread01") == mineOfAdmin {
				t.Fatalf("%s, %s: %d %q", email, page, r.status, r.text("main"))
			}
			if n := sent.n.Load(); n != 1 {
				t.Errorf("%s, %s: %d requests to the database, want 1", email, page, n)
			}
		}
	}

	// A made-up session costs the database the session's read alone, as
	// on a page that reads nothing with it.
	u, _ := url.Parse(e.srv.URL)
	statements := func(token, page string) int64 {
		stranger := e.browser()
		stranger.c.Jar.SetCookies(u, []*http.Cookie{{Name: handlers.SessionCookie, Value: token}})
		sent.batched.Store(0)
		if r := stranger.get(page); r.status != http.StatusSeeOther || strings.Contains(r.body, "dr_oneread01") {
			t.Errorf("a refused session's %s: %d %q", page, r.status, r.body)
		}
		return sent.batched.Load()
	}
	madeUp := strings.Repeat("x", 43)
	none := statements(madeUp, "/profile")
	if task := statements(madeUp, "/dr-tasks/"+id); task != none {
		t.Errorf("a made-up session's task page: %d statements, %d on a page that reads nothing with the session", task, none)
	}
	// A session signed out is forgotten: its cookie, used again, costs the
	// session's read alone too.
	admin := e.signedIn("admin@example.com")
	admin.get("/audit")
	var token string
	for _, ck := range admin.c.Jar.Cookies(u) {
		if ck.Name == handlers.SessionCookie {
			token = ck.Value
		}
	}
	if r := admin.post("/signout", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.status)
	}
	for _, page := range []string{"/audit?q=dr_oneread01", "/dr-tasks/" + id} {
		if n := statements(token, page); n != none {
			t.Errorf("a signed-out session's %s: %d statements, want %d", page, n, none)
		}
	}
}

// TestAnAuditorWhoseRoleIsTakenSeesOnlyTheirOwnEvents: the audit page is
// read with the session as its person saw it last time (everyone's
// events); once their auditor role is gone, the next view shows only
// their own, whatever was read with the session.
func TestAnAuditorWhoseRoleIsTakenSeesOnlyTheirOwnEvents(t *testing.T) {
	e := newEnv(t)
	e.runningTask("dr_oneread04") // events of the admin, req and the system
	aud := e.addUser("aud2@example.com", auth.RoleAuditor, auth.RoleRequester)
	b := e.signedIn("aud2@example.com")
	for range 2 {
		if r := b.get("/audit?hide_calls=0"); !strings.Contains(r.text("main"), "dr_oneread04") {
			t.Fatalf("an auditor's audit page: %q", r.text("main"))
		}
	}
	if _, err := e.store.Pool().Exec(context.Background(), `DELETE FROM user_roles WHERE user_id = $1 AND role = 'auditor'`, aud.ID); err != nil {
		t.Fatal(err)
	}
	r := b.get("/audit?hide_calls=0")
	if r.status != http.StatusOK || !strings.Contains(r.text("main"), "You see the events of your own actions") || strings.Contains(r.text("main"), "dr_oneread04") {
		t.Errorf("the audit page after the auditor role was taken: %d %q", r.status, r.text("main"))
	}
}

// TestATaskPageReadWithARefusedSessionShowsNothingOfIt: the page's rows go
// with the session's, but a session that has ended, or whose person was
// deactivated, still leads to the sign-in form and nothing of the task.
func TestATaskPageReadWithARefusedSessionShowsNothingOfIt(t *testing.T) {
	e := newEnv(t)
	id := e.runningTask("dr_oneread02")
	gone := e.addUser("gone@example.com", auth.RoleRequester)
	idle, deactivated := e.signedIn("req@example.com"), e.signedIn("gone@example.com")
	if _, err := e.store.Pool().Exec(context.Background(), `UPDATE users SET active = false WHERE id = $1`, gone.ID); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"/dr-tasks/" + id, "/dr-tasks"} {
		r := deactivated.get(page)
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/signin") || strings.Contains(r.body, "dr_oneread02") {
			t.Errorf("a deactivated person's %s: %d %q %q", page, r.status, r.header.Get("Location"), r.body)
		}
	}
	e.signInClock.Advance(3 * time.Hour) // past the idle timeout
	for _, page := range []string{"/dr-tasks/" + id, "/dr-tasks"} {
		r := idle.get(page)
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/signin") || strings.Contains(r.body, "dr_oneread02") {
			t.Errorf("an ended session's %s: %d %q %q", page, r.status, r.header.Get("Location"), r.body)
		}
	}
}

// TestTheResponderPartsOfATaskPageAreTheViewersOwn: read with the session,
// before its person's roles are known, the responder's parts of a task page
// (the admins who can turn break-glass on, the emergency that bars them)
// still show to responders only, and each responder sees their own bar.
func TestTheResponderPartsOfATaskPageAreTheViewersOwn(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp1@example.com", portal.RoleResponder)
	e.addUser("resp2@example.com", portal.RoleResponder)
	id := e.createTask("dr_oneread03")

	off := e.signedIn("resp1@example.com").get("/dr-tasks/" + id)
	if got := off.text(`[data-testid=break-glass-off]`); !strings.Contains(got, "the admins: admin") {
		t.Errorf("a responder, break-glass off: %q", got)
	}
	for _, email := range []string{"req@example.com", "audit@example.com"} {
		if r := e.signedIn(email).get("/dr-tasks/" + id); r.doc.Find(`[data-testid=break-glass-off]`).Length() != 0 ||
			strings.Contains(r.text("main"), "the admins:") {
			t.Errorf("%s is shown the responders' note: %q", email, r.text(`[data-testid=break-glass-off]`))
		}
	}

	e.breakGlassOn(portal.OpStart, portal.OpSwitchover)
	r1, r2 := e.signedIn("resp1@example.com"), e.signedIn("resp2@example.com")
	e.emergencyStart(r1, id) // its review is open: it bars resp1, and only resp1
	if got := r1.get("/dr-tasks/" + id); got.doc.Find(`[data-testid=break-glass-barred]`).Length() != 1 {
		t.Errorf("the responder with an open emergency is not barred: %q", got.text("main"))
	}
	other := r2.get("/dr-tasks/" + id)
	if other.doc.Find(`[data-testid=break-glass-barred]`).Length() != 0 || other.doc.Find(`[data-testid=break-glass-ops]`).Length() != 1 {
		t.Errorf("another responder is barred by resp1's emergency: %q", other.text("main"))
	}
}
