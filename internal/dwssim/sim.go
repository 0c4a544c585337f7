// Package dwssim simulates the GaussDB(DWS) disaster-recovery API as an
// http.Handler, faithfully enough that the official SDK and the portal's
// client run against it unchanged: AK/SK signatures, error codes and
// shapes, the whole DR state machine with its asynchronous transitions and
// sync cycles, throttling and injected faults (docs/dws-dr-api.md §4, §8).
//
// Where the API is silent the simulator answers as §9 says: failover runs
// switchovering → abnormal with the roles swapped, and promotes the
// standby's data as of its last_success_time (TaskSnapshot.Watermark);
// recovery, allowed only after a failover once both clusters are healthy,
// wipes the DR side and runs starting → running.
//
// Every project is served in Region: its cluster list holds the seeded
// clusters there, in two AZs, and a cross-AZ task (dr_type az) pairs two
// AZs of it. One more seeded cluster, ClusterRemote, sits in RemoteRegion
// and is found by ID and by the standby lookup (standby_region): it is the
// standby side of a cross-region task (dr_type region), whose detail shows
// each side's region and, like the reference example, a null cluster_az
// for the cluster outside Region. A pair of the wrong shape for its
// dr_type is refused with 400 DWS.5065.
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

// Route names, as counted by Calls and matched by Fault.Route. The names
// of the asynchronous operations (create, start, pause, switchover,
// failover, recovery, delete) are also the operation names of FailNext.
const (
	RouteCreate            = "create"
	RouteDetail            = "detail"
	RouteList              = "list"
	RouteCheckName         = "check-name"
	RouteAvailableClusters = "available-clusters"
	RouteClusters          = "clusters"
	RouteUpdate            = "update"
	RouteStart             = "start"
	RoutePause             = "pause"
	RouteSwitchover        = "switchover"
	RouteFailover          = "failover"
	RouteRecovery          = "recovery"
	RouteDelete            = "delete"
	RouteProgress          = "progress"
)

// operations lists the operation names FailNext takes, in the order of
// the API reference.
var operations = []string{RouteCreate, RouteStart, RoutePause, RouteSwitchover, RouteFailover, RouteRecovery, RouteDelete}

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

	// Durations are the phase durations at speed 1 (zero fields: the
	// DefaultDurations); the simulator divides them by Speed.
	Durations Durations
	// SyncScale maps dr_sync_period to simulated time: a running task
	// syncs every period × SyncScale / Speed. 0 means DefaultSyncScale
	// (1/60: a 5m period syncs every 5 s at speed 1).
	SyncScale float64
	// AcceptanceLag keeps a task's pre-call status for this long after an
	// operation (start, pause, switchover, failover, recovery, delete) is
	// accepted, before its transient phase begins: the switchover pitfall
	// of docs/dws-dr-api.md §4. It is not divided by Speed. During the lag
	// the task is busy and refuses other operations with 403 DWS.7023.
	AcceptanceLag time.Duration
}

// Simulator is the simulated DWS DR API. It is safe for concurrent use.
type Simulator struct {
	opts  Options
	creds map[string]string
	clock Clock
	log   *slog.Logger
	mux   *http.ServeMux
	tm    *timing

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
	tm, err := newTiming(opts, speed)
	if err != nil {
		return nil, err
	}
	s := &Simulator{
		opts: opts, creds: creds, clock: opts.Clock, log: opts.Logger, tm: tm,
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
	m.Handle("PUT /v2/{project_id}/disaster-recovery/{id}", s.api(RouteUpdate, s.update))
	m.Handle("DELETE /v2/{project_id}/disaster-recovery/{id}", s.api(RouteDelete, s.operation(RouteDelete)))
	m.Handle("POST /v2/{project_id}/disaster-recovery/{id}/start", s.api(RouteStart, s.operation(RouteStart)))
	m.Handle("POST /v2/{project_id}/disaster-recovery/{id}/pause", s.api(RoutePause, s.operation(RoutePause)))
	m.Handle("POST /v2/{project_id}/disaster-recovery/{id}/switchover", s.api(RouteSwitchover, s.operation(RouteSwitchover)))
	m.Handle("POST /v2/{project_id}/disaster-recovery/{id}/failover", s.api(RouteFailover, s.operation(RouteFailover)))
	m.Handle("POST /v2/{project_id}/disaster-recovery/{id}/recovery", s.api(RouteRecovery, s.operation(RouteRecovery)))
	m.Handle("GET /v1/{project_id}/disaster-recovery/{id}/show-progress", s.api(RouteProgress, s.progress))
	m.Handle("GET /v2/{project_id}/disaster-recovery-clusters", s.api(RouteAvailableClusters, s.availableClusters))
	m.Handle("GET /v1.0/{project_id}/clusters", s.api(RouteClusters, s.clusterList))

	m.HandleFunc("POST /_sim/reset", s.ctlReset)
	m.HandleFunc("POST /_sim/faults", s.ctlInjectFault)
	m.HandleFunc("DELETE /_sim/faults", s.ctlClearFaults)
	m.HandleFunc("POST /_sim/fail-next", s.ctlFailNext)
	m.HandleFunc("POST /_sim/cluster-status", s.ctlClusterStatus)
	m.HandleFunc("POST /_sim/cluster-fault", s.ctlClusterFault)
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
		p = &project{id: id, tm: s.tm, clusters: seedClusters(id)}
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

// Calls returns how many requests a route received, whether or not they
// succeeded: "create", "detail", "list", "check-name",
// "available-clusters", "clusters", "update", "start", "pause",
// "switchover", "failover", "recovery", "delete", "progress".
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

// FailNext makes the next n accepted runs of an operation end in its
// failure status: create → create_failed, start → start_failed, pause →
// stop_failed, switchover, failover and recovery → abnormal (roles
// unchanged), delete → back to the status before the call. Operations are
// named like their routes (RouteCreate, RouteStart, RoutePause,
// RouteSwitchover, RouteFailover, RouteRecovery, RouteDelete); a refused
// call (403, 400) does not use one up.
// n replaces any count still pending; 0 cancels it.
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

// Clusters returns a project's clusters in list order: those of Region,
// which the cluster list shows. Cluster also finds the remote one.
func (s *Simulator) Clusters(projectID string) []Cluster {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Cluster
	for _, c := range s.projectLocked(projectID).clusters {
		if c.Region == Region {
			out = append(out, c.Cluster)
		}
	}
	return out
}

// SetClusterStatus sets a cluster's ClusterInfo status (e.g. "FROZEN");
// unknown names are ignored. It does not touch DR tasks: "FAILED" set this
// way is a fault DR has not noticed yet (a running task keeps running, and
// may then fail over). SetClusterFaulty is the full fault.
func (s *Simulator) SetClusterStatus(projectID, name, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.projectLocked(projectID).clusterByName(name); c != nil {
		c.Status = status
		c.updated = s.clock.Now()
	}
}

// SetClusterFaulty marks a cluster faulty or healthy; unknown names are
// ignored. Faulty turns its ClusterInfo status FAILED and every running
// task using it (on either side) abnormal at once; an operation still in
// its acceptance lag on such a task is dropped. Healthy turns the status
// back to AVAILABLE; tasks stay abnormal until a failover or recovery.
// A task that reaches running while one of its clusters is faulty becomes
// abnormal instead.
func (s *Simulator) SetClusterFaulty(projectID, name string, faulty bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	p := s.projectLocked(projectID)
	p.advance(now)
	c := p.clusterByName(name)
	if c == nil {
		return
	}
	c.updated = now
	if !faulty {
		c.Status = ClusterStatusAvailable
		return
	}
	c.Status = ClusterStatusFailed
	for _, t := range p.tasks {
		if t.status == StatusRunning && (t.primaryID == c.ID || t.standbyID == c.ID) {
			t.status, t.op = StatusAbnormal, nil
		}
	}
}

// SetClusterVersion sets a cluster's version (e.g. "8.1.1.300", to pair
// clusters too old for failover and recovery); unknown names are ignored.
func (s *Simulator) SetClusterVersion(projectID, name, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.projectLocked(projectID).clusterByName(name); c != nil {
		c.Version = version
		c.updated = s.clock.Now()
	}
}

// Tasks returns a project's tasks, in creation order, after any transitions
// that are due. Deleted tasks are gone.
func (s *Simulator) Tasks(projectID string) []TaskSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectLocked(projectID)
	p.advance(s.clock.Now())
	out := make([]TaskSnapshot, 0, len(p.tasks))
	for _, t := range p.tasks {
		out = append(out, p.snapshot(t))
	}
	return out
}

// Task returns one task of a project after any transitions that are due;
// false if it does not exist (or was deleted).
func (s *Simulator) Task(projectID, id string) (TaskSnapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectLocked(projectID)
	p.advance(s.clock.Now())
	t := p.task(id)
	if t == nil {
		return TaskSnapshot{}, false
	}
	return p.snapshot(t), true
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
