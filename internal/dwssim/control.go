package dwssim

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"time"
)

// Control endpoints live under /_sim/, never under DWS paths, and are not
// signed: they drive the simulator from demo scripts and end-to-end tests.
// ControlUsage lists them; cmd/dwssim prints it in its help.

// ControlUsage describes the control endpoints, for help texts.
const ControlUsage = `Control endpoints (unsigned, simulator only; JSON bodies):
  POST   /_sim/reset            drop all state, as after a restart
  POST   /_sim/faults           inject a fault for a route ("" = every route), e.g.
                                {"route":"switchover","status":503,"times":2}
                                {"route":"start","drop_response":true,"times":1}
                                {"route":"detail","latency":"30s"}   (Go duration)
                                also "code", "message", "bad_body", "bad_signature"
  DELETE /_sim/faults           clear all faults
  POST   /_sim/fail-next        {"operation":"switchover","n":1}: the next n accepted runs fail
                                (create, start, pause, switchover, failover, recovery, delete)
  POST   /_sim/cluster-fault    {"project_id":"…","name":"dws-prod-01","faulty":true}
                                faulty: cluster FAILED, its running tasks abnormal;
                                false: cluster AVAILABLE again (tasks stay abnormal)
  POST   /_sim/cluster-status   {"project_id":"…","name":"dws-dr-01","status":"FROZEN"}
                                ClusterInfo status only; tasks are not told
  GET    /_sim/stats            call counters, active faults, fail-next counts, projects
  GET    /_sim/tasks?project_id=…  task snapshots (roles, sync times, failover watermark)
Routes: create detail list check-name available-clusters clusters update start pause
        switchover failover recovery delete progress
`

var routeNames = []string{RouteCreate, RouteDetail, RouteList, RouteCheckName, RouteAvailableClusters, RouteClusters,
	RouteUpdate, RouteStart, RoutePause, RouteSwitchover, RouteFailover, RouteRecovery, RouteDelete, RouteProgress}

func (s *Simulator) ctlReset(w http.ResponseWriter, r *http.Request) {
	s.Reset()
	s.writeOK(w, map[string]bool{"ok": true})
}

// faultJSON is Fault on the wire, with a readable latency.
type faultJSON struct {
	Fault
	Latency string `json:"latency"`
}

func (s *Simulator) ctlInjectFault(w http.ResponseWriter, r *http.Request) {
	var fj faultJSON
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&fj); err != nil {
		s.writeError(w, invalidFormat("Invalid fault: %v", err))
		return
	}
	f := fj.Fault
	if fj.Latency != "" {
		d, err := time.ParseDuration(fj.Latency)
		if err != nil || d < 0 {
			s.writeError(w, invalidFormat("Invalid fault latency %q.", fj.Latency))
			return
		}
		f.Latency = d
	}
	if f.Route != "" && !slices.Contains(routeNames, f.Route) {
		s.writeError(w, invalidFormat("Unknown route %q; known: %v.", f.Route, routeNames))
		return
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) || f.Times < 0 {
		s.writeError(w, invalidFormat("Invalid fault status or times."))
		return
	}
	s.InjectFault(f)
	s.writeOK(w, map[string]bool{"ok": true})
}

func (s *Simulator) ctlClearFaults(w http.ResponseWriter, r *http.Request) {
	s.ClearFaults()
	s.writeOK(w, map[string]bool{"ok": true})
}

func (s *Simulator) ctlFailNext(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Operation string `json:"operation"`
		N         int    `json:"n"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil || req.Operation == "" {
		s.writeError(w, invalidFormat("Expected {\"operation\":\"create\",\"n\":1}."))
		return
	}
	if !slices.Contains(operations, req.Operation) || req.N < 0 {
		s.writeError(w, invalidFormat("Unknown operation %q or negative n; operations: %v.", req.Operation, operations))
		return
	}
	s.FailNext(req.Operation, req.N)
	s.writeOK(w, map[string]bool{"ok": true})
}

func (s *Simulator) ctlClusterStatus(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ProjectID string `json:"project_id"`
		Name      string `json:"name"`
		Status    string `json:"status"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil ||
		req.ProjectID == "" || req.Status == "" {
		s.writeError(w, invalidFormat("Expected {\"project_id\",\"name\",\"status\"}."))
		return
	}
	if _, ok := s.Cluster(req.ProjectID, req.Name); !ok {
		s.writeError(w, errNoSuchCluster)
		return
	}
	s.SetClusterStatus(req.ProjectID, req.Name, req.Status)
	s.writeOK(w, map[string]bool{"ok": true})
}

func (s *Simulator) ctlClusterFault(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ProjectID string `json:"project_id"`
		Name      string `json:"name"`
		Faulty    *bool  `json:"faulty"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil ||
		req.ProjectID == "" || req.Faulty == nil {
		s.writeError(w, invalidFormat("Expected {\"project_id\",\"name\",\"faulty\":true|false}."))
		return
	}
	if _, ok := s.Cluster(req.ProjectID, req.Name); !ok {
		s.writeError(w, errNoSuchCluster)
		return
	}
	s.SetClusterFaulty(req.ProjectID, req.Name, *req.Faulty)
	s.writeOK(w, map[string]bool{"ok": true})
}

func (s *Simulator) ctlStats(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	calls := make(map[string]int, len(routeNames))
	for _, rn := range routeNames {
		calls[rn] = s.calls[rn]
	}
	faults := []faultJSON{}
	for _, af := range s.faults {
		f := af.Fault
		if f.Times > 0 {
			f.Times = af.left
		}
		faults = append(faults, faultJSON{Fault: f, Latency: f.Latency.String()})
	}
	stats := struct {
		TotalCalls int            `json:"total_calls"`
		Calls      map[string]int `json:"calls"`
		Faults     []faultJSON    `json:"faults"`
		FailNext   map[string]int `json:"fail_next"`
		Projects   []string       `json:"projects"`
	}{s.total, calls, faults, maps.Clone(s.failNext), s.projectIDs()}
	s.mu.Unlock()
	s.writeOK(w, stats)
}

func (s *Simulator) ctlTasks(w http.ResponseWriter, r *http.Request) {
	pid := r.URL.Query().Get("project_id")
	if pid == "" {
		s.writeError(w, invalidFormat("Parameter project_id is missing."))
		return
	}
	s.writeOK(w, map[string][]TaskSnapshot{"tasks": s.Tasks(pid)})
}
