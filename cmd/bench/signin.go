package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/config"
	"drportal/internal/handlers"
	"drportal/internal/requests"
	"drportal/static"
)

// signInFlood has 64 clients sign in with wrong passwords as fast as they
// can for 3 s, through the real router with the production argon2id
// parameters (64 MiB a hash), each attempt from an address and for an
// e-mail of its own, as a botnet would: no throttle stands in the way, only
// the hasher's bound. Go's heap and the process's RSS are sampled
// throughout; the heap may grow by what the bound lets run and wait, not
// by what the flood sends.
func (b *bench) signInFlood(ctx context.Context, _ *seedData) error {
	const clients, hashMiB = 64, 64
	d := 3 * time.Second
	hasher := &auth.Hasher{}
	running, waiting := hasher.Limits()
	cfg, err := config.Load(func(k string) string {
		if k == "TRUSTED_PROXIES" {
			return "127.0.0.1/32" // the clients name their address in X-Forwarded-For
		}
		return ""
	})
	if err != nil {
		return err
	}
	h := handlers.New(handlers.Deps{Config: cfg, Store: b.store, Now: time.Now,
		Auth:     &auth.Service{Store: b.store, Now: time.Now, Hasher: hasher},
		Requests: &requests.Service{Store: b.store, Now: time.Now, Outbox: noQueue{}},
		AuditLog: &audit.Service{Store: b.store, Now: time.Now, ArchiveDir: filepath.Join(b.dir, "archive")},
		Assets:   static.Load()})
	srv := httptest.NewServer(h)
	defer srv.Close()

	runtime.GC()
	baseHeap, baseRSS := heapBytes(), rss()
	var peakHeap, peakRSS atomic.Int64
	peakHeap.Store(baseHeap)
	peakRSS.Store(baseRSS)
	sampled := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if v := heapBytes(); v > peakHeap.Load() {
					peakHeap.Store(v)
				}
				if v := rss(); v > peakRSS.Load() {
					peakRSS.Store(v)
				}
			}
		}
	}()

	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var n atomic.Int64
	var mu sync.Mutex
	statuses := map[int]int{}
	var firstErr error
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := map[int]int{}
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := n.Add(1)
				form := url.Values{"email": {fmt.Sprintf("flood%06d@example.com", i)}, "password": {"a wrong guess"}}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/signin", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "same-origin") // a browser's form: no CSRF token needed
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
				res, err := c.Do(req)
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				mine[res.StatusCode]++
			}
			mu.Lock()
			for k, v := range mine {
				statuses[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	if firstErr != nil {
		return fmt.Errorf("sign-in flood: %w", firstErr)
	}
	checked, busy := statuses[http.StatusUnprocessableEntity], statuses[http.StatusServiceUnavailable]
	if int64(checked+busy) != n.Load() {
		return fmt.Errorf("sign-in flood: unexpected answers %v", statuses)
	}
	growth := peakHeap.Load() - baseHeap
	budget := int64(running+waiting)*hashMiB<<20 + 64<<20
	b.report(fmt.Sprintf("sign-in flood, %d clients for %s, argon2id %d MiB, wrong passwords", clients, d, hashMiB),
		fmt.Sprintf("%d checked, %d busy (503)", checked, busy), "(information)", true)
	b.report(fmt.Sprintf("sign-in flood memory (%d hashing + %d waiting at most)", running, waiting),
		fmt.Sprintf("heap +%d MB (peak %d MB), RSS +%d MB", growth>>20, peakHeap.Load()>>20, (peakRSS.Load()-baseRSS)>>20),
		fmt.Sprintf("heap growth < %d MB, flat", budget>>20), growth < budget && busy > 0 && checked > 0)
	return nil
}

// heapBytes is the memory of the Go heap's objects, live or not yet
// collected, read without stopping the world.
func heapBytes() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
