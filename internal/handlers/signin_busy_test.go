package handlers_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/auth"
)

// TestASignInFloodIsToldTheServerIsBusy: many sign-ins at once, each from
// an address and for an account of its own (so no throttle stands in the
// way), never run more password hashes at once than the bound; those
// beyond the short queue get 503 with Retry-After and a clear message, and
// are neither checked, counted nor audited.
func TestASignInFloodIsToldTheServerIsBusy(t *testing.T) {
	var running, most atomic.Int64
	e := newEnv(t, withVar("TRUSTED_PROXIES", "127.0.0.1/32"), withAuth(func(s *auth.Service) {
		s.Hasher = &auth.Hasher{Running: 2, Waiting: 2, Wait: 20 * time.Millisecond, Hook: func() {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(60 * time.Millisecond)
			running.Add(-1)
		}}
	}))
	const flood = 24
	browsers := make([]*browser, flood)
	tokens := make([]string, flood)
	for i := range browsers {
		browsers[i] = e.browserFrom(fmt.Sprintf("198.51.100.%d", i+1))
		tokens[i] = browsers[i].csrf("/signin")
	}
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, b := range browsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := fmt.Sprintf("nobody%02d@example.com", i)
			if i%3 == 0 {
				email = "req@example.com"
			}
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/signin",
				strings.NewReader("email="+email+"&password=a+wrong+guess&_csrf="+tokens[i]))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", b.header.Get("X-Forwarded-For"))
			<-start
			res, err := b.c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "2" {
				t.Errorf("busy without Retry-After: %q", res.Header.Get("Retry-After"))
			}
			mu.Lock()
			got[res.StatusCode]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()

	if m := most.Load(); m > 2 {
		t.Errorf("%d password hashes ran at once, the bound is 2", m)
	}
	checked, busy := got[http.StatusUnprocessableEntity], got[http.StatusServiceUnavailable]
	if checked == 0 || busy == 0 || checked+busy != flood {
		t.Fatalf("answers: %v", got)
	}
	if n := len(e.events(audit.ActionSignInFailed)); n != checked {
		t.Errorf("%d failed sign-ins audited, want the %d checked", n, checked)
	}
	var counted int
	if err := e.store.Pool().QueryRow(t.Context(), `SELECT count(*) FROM sign_in_throttles WHERE address <> '*'`).Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if counted != checked {
		t.Errorf("%d attempts counted by the throttle, want the %d checked", counted, checked)
	}

	// What the person sees, while the one turn is held.
	held, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	holdEnv := newEnv(t, withAuth(func(s *auth.Service) {
		s.Hasher = &auth.Hasher{Running: 1, Waiting: -1, Hook: func() {
			if first.CompareAndSwap(false, true) {
				close(held)
				<-release
			}
		}}
	}))
	holder := holdEnv.browser()
	tok := holder.csrf("/signin")
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, holdEnv.srv.URL+"/signin",
			strings.NewReader("email=req%40example.com&password=wrong&_csrf="+tok))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := holder.c.Do(req)
		if err != nil {
			done <- 0
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	<-held
	r := holdEnv.browser().signIn("admin@example.com", password)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "2" {
		t.Errorf("while busy: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	if msg := r.text(`[data-testid=error-message]`); msg != "The portal is busy signing people in; try again in a few seconds." {
		t.Errorf("busy page says %q", msg)
	}
	close(release)
	if status := <-done; status != http.StatusUnprocessableEntity {
		t.Errorf("the sign-in that held the turn: %d", status)
	}
	if r := holdEnv.browser().signIn("admin@example.com", password); r.status != http.StatusSeeOther {
		t.Errorf("once the turn is free: %d", r.status)
	}
}
