// Package dwssim simulates the GaussDB(DWS) disaster-recovery API as an
// http.Handler, faithfully enough that the official SDK and the portal's
// client run against it unchanged: AK/SK signatures, error codes and
// shapes, asynchronous task transitions, throttling and injected faults
// (docs/dws-dr-api.md §8).
//
// All timing reads an injectable Clock and is evaluated lazily on access,
// so the simulator starts no goroutines and tests never sleep.
package dwssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Route names, as counted by Calls and matched by Fault.Route.
const (
	RouteCreate            = "create"
	RouteDetail            = "detail"
	RouteList              = "list"
	RouteCheckName         = "check-name"
	RouteAvailableClusters = "available-clusters"
	RouteClusters          = "clusters"
)

// maxBody bounds request bodies; DR bodies are a few hundred bytes.
const maxBody = 1 << 20

// Options configures a Simulator.
type Options struct {
	Credentials           map[string]string // AK -> SK (required, at least one)
	Speed                 float64           // >0; durations are base/Speed; 0 means 1
	Clock                 Clock             // nil = real time
	Seed                  int64             // 0 = random; seeds IDs and request ids
	RateLimitPerMinute    int               // per AK; 0 = off
	ExtendedClusterFields bool              // include datastore_*/disk_* in detail
	Logger                *slog.Logger      // optional
}

// Simulator is the simulated DWS DR API. It is safe for concurrent use.
type Simulator struct {
	opts  Options
	creds map[string]string
	clock Clock
	speed float64
	log   *slog.Logger
	mux   *http.ServeMux

	ids *idSource // has its own lock: request ids are made before s.mu is taken

	mu       sync.Mutex
	projects map[string]*project
	calls    map[string]int
	total    int
	faults   []*activeFault
	failNext map[string]int
	aks      map[string]*akState
}

// New validates opts and returns a Simulator.
func New(opts Options) (*Simulator, error) {
	if len(opts.Credentials) == 0 {
		return nil, errors.New("dwssim: at least one AK/SK credential is required")
	}
	creds := make(map[string]string, len(opts.Credentials))
	for ak, sk := range opts.Credentials {
		if ak == "" || sk == "" {
			return nil, errors.New("dwssim: credentials need a non-empty AK and SK")
		}
		creds[ak] = sk
	}
	speed := opts.Speed
	if speed == 0 {
		speed = 1
	}
	if speed < 0 || math.IsNaN(speed) || math.IsInf(speed, 0) {
		return nil, fmt.Errorf("dwssim: speed %v must be a positive number", opts.Speed)
	}
	if opts.RateLimitPerMinute < 0 {
		return nil, fmt.Errorf("dwssim: rate limit %d must not be negative", opts.RateLimitPerMinute)
	}
	s := &Simulator{
		opts: opts, creds: creds, clock: opts.Clock, speed: speed, log: opts.Logger,
		ids: &idSource{},
	}
	if s.clock == nil {
		s.clock = realClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.resetLocked()
	s.mux = s.routes()
	return s, nil
}

// resetLocked drops all state; s.mu must be held (or s not yet shared).
func (s *Simulator) resetLocked() {
	s.ids.reseed(s.opts.Seed)
	s.projects = map[string]*project{}
	s.calls = map[string]int{}
	s.total = 0
	s.faults = nil
	s.failNext = map[string]int{}
	s.aks = map[string]*akState{}
	for ak := range s.creds {
		s.aks[ak] = &akState{}
	}
}

// routes is the one route table: the DWS API, the simulator's control
// endpoints, and a gateway-style 404 for everything else. ServeMux prefers
// the literal check-name over {id}, as the real router must.
func (s *Simulator) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("POST /v2/{project_id}/disaster-recoveries", s.api(RouteCreate, s.create))
	m.Handle("GET /v2/{project_id}/disaster-recoveries", s.api(RouteList, s.list))
	m.Handle("GET /v2/{project_id}/disaster-recovery/check-name", s.api(RouteCheckName, s.checkName))
	m.Handle("GET /v2/{project_id}/disaster-recovery/{id}", s.api(RouteDetail, s.detail))
	m.Handle("GET /v2/{project_id}/disaster-recovery-clusters", s.api(RouteAvailableClusters, s.availableClusters))
	m.Handle("GET /v1.0/{project_id}/clusters", s.api(RouteClusters, s.clusterList))

	m.HandleFunc("POST /_sim/reset", s.ctlReset)
	m.HandleFunc("POST /_sim/faults", s.ctlInjectFault)
	m.HandleFunc("DELETE /_sim/faults", s.ctlClearFaults)
	m.HandleFunc("POST /_sim/fail-next", s.ctlFailNext)
	m.HandleFunc("POST /_sim/cluster-status", s.ctlClusterStatus)
	m.HandleFunc("GET /_sim/stats", s.ctlStats)
	m.HandleFunc("GET /_sim/tasks", s.ctlTasks)

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.total++
		s.mu.Unlock()
		s.writeError(w, errNoSuchAPI)
	})
	return m
}

// ServeHTTP serves the DWS API. Every response, whatever its kind, carries
// X-Request-Id and Content-Type: application/json.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Request-Id", s.ids.requestID())
	h.Set("Content-Type", "application/json")
	s.mux.ServeHTTP(w, r)
}

// call is one authenticated API request as a handler sees it.
type call struct {
	r       *http.Request
	body    []byte
	project *project
	now     time.Time
}

// handler serves one API route with s.mu held. A nil result is an empty
// 200 body; an error becomes its API answer via asAPIError.
type handler func(c *call) (any, error)

// api wraps a route: count, read the body, authenticate, throttle, apply
// faults, run the handler under the lock, write the answer, log it.
func (s *Simulator) api(route string, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[route]++
		s.total++
		s.mu.Unlock()

		status, code := s.serveAPI(w, r, route, h)
		level := slog.LevelDebug
		if status == http.StatusUnauthorized {
			level = slog.LevelInfo // signing bugs are the usual reason a demo fails
		}
		s.log.Log(r.Context(), level, "dwssim request", "route", route, "method", r.Method, "path", r.URL.Path,
			"status", status, "error_code", code, "request_id", w.Header().Get("X-Request-Id"))
	})
}

// serveAPI answers one API request and returns the status and error code
// sent (status 0: no answer, the connection was dropped or abandoned).
func (s *Simulator) serveAPI(w http.ResponseWriter, r *http.Request, route string, h handler) (int, string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return 0, "" // the client went away
	}
	if len(body) > maxBody {
		return s.writeError(w, invalidFormat("The request body is too large."))
	}
	ak, aerr := s.authenticate(r, body)
	if aerr != nil {
		return s.writeError(w, aerr)
	}
	if aerr := s.throttle(ak); aerr != nil {
		return s.writeError(w, aerr)
	}

	f, faulty := s.takeFault(route)
	if faulty && f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return 0, "" // the client gave up: the request is not applied
		}
	}
	switch {
	case faulty && f.BadSignature:
		return s.writeError(w, &apiError{Status: http.StatusUnauthorized, Code: CodeAuth, Gateway: true,
			Message: authPrefix + "ak:" + ak + ", injected signature failure"})
	case faulty && f.Status != 0:
		return s.writeError(w, f.apiError())
	}

	s.mu.Lock()
	c := &call{r: r, body: body, project: s.projectLocked(r.PathValue("project_id")), now: s.clock.Now()}
	c.project.advance(c.now)
	result, err := h(c)
	s.mu.Unlock()

	switch {
	case faulty && f.DropResponse:
		dropConnection(w)
		return 0, ""
	case faulty && f.BadBody:
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"disaster_recovery":{"id":`)
		return http.StatusOK, ""
	case err != nil:
		return s.writeError(w, err)
	default:
		return s.writeOK(w, result)
	}
}

// projectLocked returns a project's state, seeding its clusters on first
// access.
func (s *Simulator) projectLocked(id string) *project {
	p, ok := s.projects[id]
	if !ok {
		p = &project{id: id, clusters: seedClusters(id)}
		s.projects[id] = p
	}
	return p
}

// writeOK answers 200 with v as JSON, or with an empty body for nil.
func (s *Simulator) writeOK(w http.ResponseWriter, v any) (int, string) {
	if v == nil {
		w.WriteHeader(http.StatusOK)
		return http.StatusOK, ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return s.writeError(w, err)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return http.StatusOK, ""
}

// writeError answers with err's status and error body.
func (s *Simulator) writeError(w http.ResponseWriter, err error) (int, string) {
	ae := asAPIError(err)
	body := errorBody{Code: ae.Code, Message: ae.Message}
	if ae.Gateway {
		body.RequestID = w.Header().Get("X-Request-Id")
	}
	b, _ := json.Marshal(body)
	w.WriteHeader(ae.Status)
	_, _ = w.Write(b)
	return ae.Status, ae.Code
}

// scaled divides a base duration by the speed factor.
func (s *Simulator) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.speed)
}

// Calls returns how many requests a route received, whether or not they
// succeeded: "create", "detail", "list", "check-name",
// "available-clusters", "clusters".
func (s *Simulator) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// TotalCalls returns how many API requests the simulator received, unknown
// paths included and control (/_sim/) requests excluded.
func (s *Simulator) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// FailNext makes the next n runs of an operation (e.g. "create") end in
// its failure status (create_failed for create).
func (s *Simulator) FailNext(operation string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[operation] = max(n, 0)
}

// takeFailure consumes one FailNext for the operation; s.mu must be held.
func (s *Simulator) takeFailure(operation string) bool {
	if s.failNext[operation] > 0 {
		s.failNext[operation]--
		return true
	}
	return false
}

// Cluster returns a project's cluster by name.
func (s *Simulator) Cluster(projectID, name string) (Cluster, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.projectLocked(projectID).clusterByName(name)
	if c == nil {
		return Cluster{}, false
	}
	return c.Cluster, true
}

// Clusters returns a project's clusters in list order.
func (s *Simulator) Clusters(projectID string) []Cluster {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Cluster
	for _, c := range s.projectLocked(projectID).clusters {
		out = append(out, c.Cluster)
	}
	return out
}

// SetClusterStatus sets a cluster's status (e.g. "FAILED"); unknown names
// are ignored.
func (s *Simulator) SetClusterStatus(projectID, name, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.projectLocked(projectID).clusterByName(name); c != nil {
		c.Status = status
		c.updated = s.clock.Now()
	}
}

// Tasks returns a project's tasks, in creation order, after any transitions
// that are due.
func (s *Simulator) Tasks(projectID string) []TaskSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectLocked(projectID)
	p.advance(s.clock.Now())
	out := make([]TaskSnapshot, 0, len(p.tasks))
	for _, t := range p.tasks {
		out = append(out, t.snapshot())
	}
	return out
}

// Reset drops all tasks, counters, faults and lockouts, as after a restart.
func (s *Simulator) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Simulator) projectIDs() []string {
	ids := make([]string, 0, len(s.projects))
	for id := range s.projects {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
