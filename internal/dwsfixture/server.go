// Package dwsfixture is a second, deliberately small implementation of the
// GaussDB(DWS) disaster-recovery API, built from the API pages' example
// answers (examples/) rather than from the simulator (internal/dwssim).
// The portal's flows run against both: what passes against one only
// depends on that implementation's choices.
//
// It answers a detail with the detail page's example, byte for byte, for
// the example's own task (seeded as the project's first task), and with the
// same text, spacing, key order and nulls, with the values changed, for the
// tasks created through it; a create with the create page's example answer
// (the first create gets the example's own id). The cluster list
// (clusters.json) is not from an API page: it is written in the shape of
// the cluster list of dws-dr-api.md §1.1, with the example task's primary
// among its clusters. Every transient status lasts Config.Step.
//
// It checks AK/SK signatures with internal/aksk and serves one project.
package dwsfixture

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"drportal/internal/aksk"
)

// The API pages' example answers, exactly as printed.
var (
	//go:embed examples/dr-create-response-example.json
	CreateExample []byte
	//go:embed examples/dr-detail-example.json
	DetailExample []byte
	//go:embed clusters.json
	clustersJSON []byte
)

// Config configures a Server.
type Config struct {
	ProjectID string
	AK, SK    string
	// Step is how long each transient status (creating, starting, ...)
	// lasts; 0 means 2 s.
	Step time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is the fixture server, an http.Handler.
type Server struct {
	cfg      Config
	mux      *http.ServeMux
	clusters []cluster

	mu       sync.Mutex
	tasks    []*task // in creation order; deleted tasks are removed
	creates  int
	requests int
}

// cluster is what the server needs of a cluster-list entry.
type cluster struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Version string `json:"version"`
	AZ      string `json:"availability_zone"`
	VPC     string `json:"vpc_id"`
}

// side is one cluster of a task as its detail shows it.
type side struct {
	id, name, az, region string
}

type task struct {
	id, name, drType, period string
	primary, standby         side
	status                   string
	next                     string    // the status a transient one settles into
	settles                  time.Time // when it does
	swap                     bool      // the roles swap when it settles
	created, started         time.Time
	lastSync                 time.Time
	// verbatim: answer the detail example's bytes, unchanged, as long as
	// nothing has changed the task (the example's own task).
	verbatim bool
}

// region is the region the server's clusters are in: the region of the
// detail example's primary.
const region = "cn-north-7"

// New returns a server whose project holds the detail example's task.
func New(cfg Config) (*Server, error) {
	if cfg.ProjectID == "" || cfg.AK == "" || cfg.SK == "" {
		return nil, fmt.Errorf("dwsfixture: project, AK and SK are required")
	}
	if cfg.Step <= 0 {
		cfg.Step = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg}
	var list struct{ Clusters []cluster }
	if err := json.Unmarshal(clustersJSON, &list); err != nil {
		return nil, fmt.Errorf("dwsfixture: clusters.json: %w", err)
	}
	s.clusters = list.Clusters
	seed, err := exampleTask()
	if err != nil {
		return nil, err
	}
	s.tasks = []*task{seed}

	m := http.NewServeMux()
	p := "/{project}"
	m.HandleFunc("GET /v1.0"+p+"/clusters", s.listClusters)
	m.HandleFunc("GET /v2"+p+"/disaster-recovery-clusters", s.availableClusters)
	m.HandleFunc("GET /v2"+p+"/disaster-recovery/check-name", s.checkName)
	m.HandleFunc("POST /v2"+p+"/disaster-recoveries", s.create)
	m.HandleFunc("GET /v2"+p+"/disaster-recoveries", s.list)
	m.HandleFunc("GET /v2"+p+"/disaster-recovery/{id}", s.detail)
	m.HandleFunc("PUT /v2"+p+"/disaster-recovery/{id}", s.update)
	m.HandleFunc("DELETE /v2"+p+"/disaster-recovery/{id}", s.delete)
	m.HandleFunc("POST /v2"+p+"/disaster-recovery/{id}/{action}", s.action)
	m.HandleFunc("GET /v1"+p+"/disaster-recovery/{id}/show-progress", s.progress)
	s.mux = m
	return s, nil
}

// exampleTask reads the detail example into the task it describes.
func exampleTask() (*task, error) {
	var ex struct {
		DR struct {
			ID, Name, Status string
			DRType           string `json:"dr_type"`
			Period           string `json:"dr_sync_period"`
			Start            string `json:"start_time"`
			Create           string `json:"create_time"`
			Primary, Standby struct {
				ID, Name, Region string
				AZ               *string `json:"cluster_az"`
				LastSuccess      string  `json:"last_success_time"`
			} `json:"-"`
			P json.RawMessage `json:"primary_cluster"`
			S json.RawMessage `json:"standby_cluster"`
		} `json:"disaster_recovery"`
	}
	if err := json.Unmarshal(DetailExample, &ex); err != nil {
		return nil, fmt.Errorf("dwsfixture: detail example: %w", err)
	}
	d := ex.DR
	if err := json.Unmarshal(d.P, &d.Primary); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(d.S, &d.Standby); err != nil {
		return nil, err
	}
	at := func(s string) time.Time { t, _ := time.Parse("2006-01-02T15:04:05", s); return t }
	az := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return &task{id: d.ID, name: d.Name, drType: d.DRType, period: d.Period, status: d.Status,
		primary: side{id: d.Primary.ID, name: d.Primary.Name, az: az(d.Primary.AZ), region: d.Primary.Region},
		standby: side{id: d.Standby.ID, name: d.Standby.Name, az: az(d.Standby.AZ), region: d.Standby.Region},
		created: at(d.Create), started: at(d.Start), lastSync: at(d.Primary.LastSuccess),
		verbatim: true}, nil
}

// apiError is an answer in the API's error shape (dws-dr-api.md §5).
type apiError struct {
	status      int
	code, msg   string
	fromGateway bool
}

var (
	errNoTask   = apiError{http.StatusBadRequest, "DWS.10101", "The DR task does not exist.", false}
	errBadState = apiError{http.StatusForbidden, "DWS.7023", "Cluster status is not allowed to operation.", false}
)

func badParam(msg string) apiError { return apiError{http.StatusBadRequest, "DWS.5065", msg, false} }

// ServeHTTP checks the signature and the project, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	rid := fmt.Sprintf("%032x", s.requests)
	s.mu.Unlock()
	w.Header().Set("X-Request-Id", rid)
	w.Header().Set("Content-Type", "application/json")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.fail(w, badParam("the request body could not be read"))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	lookup := func(ak string) (string, bool) { return s.cfg.SK, ak == s.cfg.AK }
	// Signatures carry the signer's real time, whatever Config.Now says.
	if _, err := aksk.Verify(r, body, lookup, time.Now(), 15*time.Minute); err != nil {
		s.fail(w, apiError{http.StatusUnauthorized, "APIG.0301", "Incorrect IAM authentication information: verify aksk signature fail", true})
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		// The gateway's answer for a route it does not serve: no DWS code.
		s.fail(w, apiError{http.StatusNotFound, "APIG.0101", "The API does not exist or has not been published in the environment", true})
		return
	}
	s.mux.ServeHTTP(w, r)
}

// project checks the path's project; false means an answer was written.
func (s *Server) project(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("project") != s.cfg.ProjectID || r.Header.Get("X-Project-Id") != s.cfg.ProjectID {
		s.fail(w, apiError{http.StatusForbidden, "APIG.0302", "The IAM user is not authorized to access the project", true})
		return false
	}
	return true
}

func (s *Server) fail(w http.ResponseWriter, e apiError) {
	body := map[string]string{"error_code": e.code, "error_msg": e.msg}
	if e.fromGateway {
		body["request_id"] = w.Header().Get("X-Request-Id")
	}
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) answer(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.fail(w, apiError{http.StatusInternalServerError, "DWS.9999", "internal error", false})
		return
	}
	_, _ = w.Write(b)
}

func (s *Server) listClusters(w http.ResponseWriter, r *http.Request) {
	if s.project(w, r) {
		_, _ = w.Write(clustersJSON)
	}
}

func (s *Server) clusterByID(id string) (cluster, bool) {
	for _, c := range s.clusters {
		if strings.EqualFold(c.ID, id) {
			return c, true
		}
	}
	return cluster{}, false
}

// pairingRefusal says why standby cannot be paired with primary in a
// cross-AZ task, or "". The caller holds s.mu.
func (s *Server) pairingRefusal(primary, standby cluster) string {
	switch {
	case strings.EqualFold(primary.ID, standby.ID):
		return "The primary and standby clusters must be different."
	case primary.AZ == standby.AZ:
		return "A cross-AZ DR task needs the clusters in different AZs."
	case primary.VPC != standby.VPC:
		return "The standby cluster is in another VPC."
	}
	for _, c := range []cluster{primary, standby} {
		switch {
		case c.Status != "AVAILABLE":
			return fmt.Sprintf("Cluster %s status is not allowed to operation.", c.Name)
		case versionBelow(c.Version, "8.1.1"):
			return fmt.Sprintf("Cluster %s version %s is not supported for DR.", c.Name, c.Version)
		case s.paired(c.ID) != "":
			return fmt.Sprintf("Cluster %s is already in a DR task.", c.Name)
		}
	}
	return ""
}

// paired names the task a cluster belongs to. The caller holds s.mu.
func (s *Server) paired(id string) string {
	for _, t := range s.tasks {
		if strings.EqualFold(t.primary.id, id) || strings.EqualFold(t.standby.id, id) {
			return t.name
		}
	}
	return ""
}

func versionBelow(v, min string) bool {
	a, b := strings.Split(v, "."), strings.Split(min, ".")
	for i := range max(len(a), len(b)) {
		var x, y int
		if i < len(a) {
			fmt.Sscan(a[i], &x)
		}
		if i < len(b) {
			fmt.Sscan(b[i], &y)
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func (s *Server) availableClusters(w http.ResponseWriter, r *http.Request) {
	if !s.project(w, r) {
		return
	}
	q := r.URL.Query()
	primary, ok := s.clusterByID(q.Get("primary_cluster_id"))
	if q.Get("primary_cluster_id") == "" || q.Get("standby_az_code") == "" {
		s.fail(w, apiError{http.StatusBadRequest, "DWS.5037", "The parameter does not exist.", false})
		return
	}
	if !ok {
		s.fail(w, apiError{http.StatusNotFound, "DWS.0047", "The cluster does not exist.", false})
		return
	}
	type ref struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	out := []ref{}
	s.mu.Lock()
	s.settle()
	for _, c := range s.clusters {
		if c.AZ == q.Get("standby_az_code") && s.pairingRefusal(primary, c) == "" {
			out = append(out, ref{c.ID, c.Name})
		}
	}
	s.mu.Unlock()
	s.answer(w, map[string]any{"disaster_recovery_clusters": out})
}

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{3,63}$`)

// taken reports whether a task has the name, ignoring case. The caller
// holds s.mu.
func (s *Server) taken(name string) bool {
	return slices.ContainsFunc(s.tasks, func(t *task) bool { return strings.EqualFold(t.name, name) })
}

func (s *Server) checkName(w http.ResponseWriter, r *http.Request) {
	if !s.project(w, r) {
		return
	}
	name := r.URL.Query().Get("dr_name")
	if !nameRE.MatchString(name) {
		s.fail(w, badParam("The DR name is invalid."))
		return
	}
	s.mu.Lock()
	s.settle()
	taken := s.taken(name)
	s.mu.Unlock()
	if taken {
		s.fail(w, apiError{http.StatusBadRequest, "DWS.5039", "The DR name already exists.", false})
		return
	}
	// Free: 200 with an empty body (dws-dr-api.md §2.6).
}

var periodRE = regexp.MustCompile(`^([1-9][0-9]{0,3})[mHd]$`)

func validPeriod(p string) bool {
	m := periodRE.FindStringSubmatch(p)
	if m == nil {
		return false
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n <= 3000
}

// jsonBody checks a body's media type and decodes it strictly.
func jsonBody(r *http.Request, v any) *apiError {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		e := badParam("The request body must be JSON (Content-Type: application/json).")
		return &e
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		e := badParam("The request body is not valid: " + err.Error())
		return &e
	}
	return nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	if !s.project(w, r) {
		return
	}
	var req struct {
		DR *struct {
			Name             string `json:"name"`
			DRType           string `json:"dr_type"`
			PrimaryClusterID string `json:"primary_cluster_id"`
			StandbyClusterID string `json:"standby_cluster_id"`
			Period           string `json:"dr_sync_period"`
			PrimaryProjectID string `json:"primary_cluster_project_id"`
			StandbyProjectID string `json:"standby_cluster_project_id"`
			StandbyRegion    string `json:"standby_region"`
			PrimaryOBS       string `json:"primary_obs_bucket"`
			StandbyOBS       string `json:"standby_obs_bucket"`
		} `json:"disaster_recovery"`
	}
	if e := jsonBody(r, &req); e != nil {
		s.fail(w, *e)
		return
	}
	d := req.DR
	switch {
	case d == nil:
		s.fail(w, apiError{http.StatusBadRequest, "DWS.5037", "The parameter does not exist.", false})
		return
	case !nameRE.MatchString(d.Name):
		s.fail(w, badParam("The DR name is invalid."))
		return
	case d.DRType != "az":
		s.fail(w, badParam("This region supports dr_type az only."))
		return
	case !validPeriod(d.Period):
		s.fail(w, badParam("The DR sync period is invalid."))
		return
	}
	primary, ok1 := s.clusterByID(d.PrimaryClusterID)
	standby, ok2 := s.clusterByID(d.StandbyClusterID)
	if !ok1 || !ok2 {
		s.fail(w, apiError{http.StatusNotFound, "DWS.0047", "The cluster does not exist.", false})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	if s.taken(d.Name) {
		s.fail(w, apiError{http.StatusBadRequest, "DWS.5039", "The DR name already exists.", false})
		return
	}
	if why := s.pairingRefusal(primary, standby); why != "" {
		s.fail(w, apiError{http.StatusForbidden, "DWS.7023", why, false})
		return
	}
	var example struct {
		DR struct{ ID string } `json:"disaster_recovery"`
	}
	if err := json.Unmarshal(CreateExample, &example); err != nil {
		s.fail(w, apiError{http.StatusInternalServerError, "DWS.9999", "internal error", false})
		return
	}
	id := example.DR.ID
	if s.creates > 0 || slices.ContainsFunc(s.tasks, func(t *task) bool { return t.id == id }) {
		id = uuid.NewString()
	}
	s.creates++
	now := s.cfg.Now().UTC()
	s.tasks = append(s.tasks, &task{id: id, name: d.Name, drType: d.DRType, period: d.Period,
		primary: side{id: primary.ID, name: primary.Name, az: primary.AZ, region: region},
		standby: side{id: standby.ID, name: standby.Name, az: standby.AZ, region: region},
		status:  "creating", next: "unstart", settles: now.Add(s.cfg.Step), created: now})
	_, _ = w.Write(bytes.Replace(CreateExample, []byte(example.DR.ID), []byte(id), 1))
}

// find returns the task with id. Ids are matched exactly, as the example's
// are printed (lowercase). The caller holds s.mu.
func (s *Server) find(id string) *task {
	for _, t := range s.tasks {
		if t.id == id {
			return t
		}
	}
	return nil
}

// settle moves every transient status whose time has come to the status it
// settles into. The caller holds s.mu.
func (s *Server) settle() {
	now := s.cfg.Now().UTC()
	kept := s.tasks[:0]
	for _, t := range s.tasks {
		if t.next != "" && !now.Before(t.settles) {
			switch t.next {
			case "gone":
				continue
			case "running":
				t.lastSync = t.settles
			}
			if t.swap {
				t.primary, t.standby = t.standby, t.primary
				t.swap = false
			}
			t.status, t.next = t.next, ""
		}
		kept = append(kept, t)
	}
	s.tasks = kept
}

// withTask runs fn on the task the path names, settled, under the lock.
func (s *Server) withTask(w http.ResponseWriter, r *http.Request, fn func(*task)) {
	if !s.project(w, r) {
		return
	}
	id := r.PathValue("id")
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		s.fail(w, apiError{http.StatusBadRequest, "DWS.0001", "The DR task ID is invalid.", false})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	t := s.find(id)
	if t == nil {
		s.fail(w, errNoTask)
		return
	}
	fn(t)
}

func (s *Server) detail(w http.ResponseWriter, r *http.Request) {
	s.withTask(w, r, func(t *task) {
		if t.verbatim {
			_, _ = w.Write(DetailExample)
			return
		}
		_, _ = w.Write(renderDetail(t))
	})
}

// operations: the statuses each one is allowed from, its transient status,
// the status it settles into, and whether the roles swap (dws-dr-api.md §4).
var operations = map[string]struct {
	from            []string
	during, settles string
	swap            bool
}{
	"start":      {[]string{"unstart", "start_failed", "stopped"}, "starting", "running", false},
	"pause":      {[]string{"running", "stop_failed"}, "stopping", "stopped", false},
	"switchover": {[]string{"running"}, "switchovering", "running", true},
	"failover":   {[]string{"running", "abnormal"}, "switchovering", "running", true},
	"recovery":   {[]string{"abnormal"}, "starting", "running", false},
	"delete":     {[]string{"create_failed", "unstart", "start_failed", "stopped", "stop_failed", "abnormal"}, "deleting", "gone", false},
}

func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	if _, ok := operations[r.PathValue("action")]; !ok || r.PathValue("action") == "delete" {
		s.fail(w, apiError{http.StatusNotFound, "APIG.0101", "The API does not exist or has not been published in the environment", true})
		return
	}
	s.operate(w, r, r.PathValue("action"))
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) { s.operate(w, r, "delete") }

func (s *Server) operate(w http.ResponseWriter, r *http.Request, name string) {
	op := operations[name]
	s.withTask(w, r, func(t *task) {
		if !slices.Contains(op.from, t.status) || t.next != "" {
			s.fail(w, errBadState)
			return
		}
		t.verbatim = false
		t.status, t.next, t.swap = op.during, op.settles, op.swap
		t.settles = s.cfg.Now().UTC().Add(s.cfg.Step)
		if name == "start" {
			t.started = s.cfg.Now().UTC()
		}
		s.answer(w, map[string]any{"disaster_recovery": map[string]string{"id": t.id}})
	})
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	var req struct {
		DR *struct {
			Period string `json:"dr_sync_period"`
		} `json:"disaster_recovery"`
	}
	if e := jsonBody(r, &req); e != nil {
		s.fail(w, *e)
		return
	}
	if req.DR == nil || !validPeriod(req.DR.Period) {
		s.fail(w, badParam("The DR sync period is invalid."))
		return
	}
	s.withTask(w, r, func(t *task) {
		if t.status != "unstart" && t.status != "stopped" {
			s.fail(w, errBadState)
			return
		}
		t.verbatim = false
		t.period = req.DR.Period
		s.answer(w, map[string]any{"disaster_recovery": map[string]string{"id": t.id}})
	})
}

// listItem is one task of the list: flat, every field a string
// (dws-dr-api.md §2.3).
type listItem struct {
	ID                      string `json:"id"`
	Name                    string `json:"name"`
	Status                  string `json:"status"`
	DRType                  string `json:"dr_type"`
	PrimaryClusterID        string `json:"primary_cluster_id"`
	PrimaryClusterName      string `json:"primary_cluster_name"`
	PrimaryClusterRole      string `json:"primary_cluster_role"`
	PrimaryClusterStatus    string `json:"primary_cluster_status"`
	PrimaryClusterRegion    string `json:"primary_cluster_region"`
	PrimaryClusterProjectID string `json:"primary_cluster_project_id"`
	StandbyClusterID        string `json:"standby_cluster_id"`
	StandbyClusterName      string `json:"standby_cluster_name"`
	StandbyClusterRole      string `json:"standby_cluster_role"`
	StandbyClusterStatus    string `json:"standby_cluster_status"`
	StandbyClusterRegion    string `json:"standby_cluster_region"`
	StandbyClusterProjectID string `json:"standby_cluster_project_id"`
	LastDisasterTime        string `json:"last_disaster_time"`
	StartTime               string `json:"start_time"`
	CreateTime              string `json:"create_time"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if !s.project(w, r) {
		return
	}
	s.mu.Lock()
	s.settle()
	items := []listItem{}
	for _, t := range s.tasks {
		items = append(items, listItem{ID: t.id, Name: t.name, Status: t.status, DRType: t.drType,
			PrimaryClusterID: t.primary.id, PrimaryClusterName: t.primary.name, PrimaryClusterRole: "primary",
			PrimaryClusterStatus: clusterStatus(t), PrimaryClusterRegion: t.primary.region, PrimaryClusterProjectID: s.cfg.ProjectID,
			StandbyClusterID: t.standby.id, StandbyClusterName: t.standby.name, StandbyClusterRole: "standby",
			StandbyClusterStatus: clusterStatus(t), StandbyClusterRegion: t.standby.region, StandbyClusterProjectID: s.cfg.ProjectID,
			LastDisasterTime: stamp(t.lastSync), StartTime: stamp(t.started), CreateTime: stamp(t.created)})
	}
	s.mu.Unlock()
	s.answer(w, map[string]any{"disaster_recovery": items})
}

func (s *Server) progress(w http.ResponseWriter, r *http.Request) {
	s.withTask(w, r, func(t *task) {
		rpo := int64(0)
		if !t.lastSync.IsZero() && t.status == "running" {
			rpo = int64(s.cfg.Now().Sub(t.lastSync) / time.Second)
		}
		s.answer(w, map[string]any{"disaster_recovery_progress": map[string]any{
			"latest_barrier_time": stamp(t.lastSync), "last_recovery_spend": 0,
			"recovery_point_object": rpo, "recovery_time_object": 0}})
	})
}

// clusterStatus is the clusters' DR status for a task's status: "waiting"
// while DR runs (as in the example), "stopped" when paused, and null
// (empty) before the first start.
func clusterStatus(t *task) string {
	switch t.status {
	case "running", "switchovering":
		return "waiting"
	case "stopped", "stopping":
		return "stopped"
	}
	return ""
}

// stamp writes a time as the API does: no zone, no fraction.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}
