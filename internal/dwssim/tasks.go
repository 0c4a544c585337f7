package dwssim

import (
	"strings"
	"time"
)

// DR task statuses (docs/dws-dr-api.md §3.1).
const (
	StatusCreating      = "creating"
	StatusCreateFailed  = "create_failed"
	StatusUnstart       = "unstart"
	StatusStarting      = "starting"
	StatusStartFailed   = "start_failed"
	StatusRunning       = "running"
	StatusStopping      = "stopping"
	StatusStopped       = "stopped"
	StatusStopFailed    = "stop_failed"
	StatusSwitchovering = "switchovering"
	StatusAbnormal      = "abnormal"
	StatusDeleting      = "deleting"
)

// Base durations of the asynchronous phases, divided by Options.Speed.
const createDuration = 3 * time.Second

// outcome is where a transient status settles.
type outcome struct{ ok, failed string }

// settles lists each transient status and its success and failure ends. New
// operations (start, pause, switchover, ...) add their phase here and start
// it with task.begin.
var settles = map[string]outcome{
	StatusCreating: {ok: StatusUnstart, failed: StatusCreateFailed},
}

// drTimeLayout is the DR API's zone-less UTC timestamp form.
const drTimeLayout = "2006-01-02T15:04:05"

// task is one DR task. primaryID/standbyID are the current roles, which a
// switchover will swap.
type task struct {
	id, name, drType, period string
	status                   string
	primaryID, standbyID     string
	primaryOBS, standbyOBS   *string
	created                  time.Time
	started, lastSync        time.Time // zero until the first start / sync

	// The running transient phase: it ends at phaseEnd, in failure if
	// phaseFails. Transitions are evaluated lazily from the clock on every
	// access, so there are no goroutines to stop.
	phaseEnd   time.Time
	phaseFails bool
}

// begin enters a transient status that settles after d.
func (t *task) begin(status string, now time.Time, d time.Duration, fail bool) {
	t.status = status
	t.phaseEnd = now.Add(d)
	t.phaseFails = fail
}

// advance settles the task's transient phase if its time has come.
func (t *task) advance(now time.Time) {
	o, transient := settles[t.status]
	if !transient || now.Before(t.phaseEnd) {
		return
	}
	if t.phaseFails {
		t.status = o.failed
	} else {
		t.status = o.ok
	}
}

// clusterDRStatus is the per-cluster DR status shown for a task status. A
// task that never ran reports its clusters as "stopped" (simulator choice).
func clusterDRStatus(taskStatus string) string {
	switch taskStatus {
	case StatusCreateFailed, StatusAbnormal:
		return "abnormal"
	case StatusRunning, StatusSwitchovering:
		return "waiting"
	default:
		return "stopped"
	}
}

// project is the state behind one project_id.
type project struct {
	id       string
	clusters []*cluster
	tasks    []*task // in creation order, the list order
}

func (p *project) clusterByID(id string) *cluster {
	for _, c := range p.clusters {
		if strings.EqualFold(c.ID, id) {
			return c
		}
	}
	return nil
}

func (p *project) clusterByName(name string) *cluster {
	for _, c := range p.clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (p *project) task(id string) *task {
	for _, t := range p.tasks {
		if t.id == id {
			return t
		}
	}
	return nil
}

// inDR reports whether a cluster already belongs to a task: one cluster
// cannot be in two DR pairs (§9.16).
func (p *project) inDR(clusterID string) bool {
	for _, t := range p.tasks {
		if t.primaryID == clusterID || t.standbyID == clusterID {
			return true
		}
	}
	return false
}

// nameTaken compares case-insensitively, as the API does.
func (p *project) nameTaken(name string) bool {
	for _, t := range p.tasks {
		if strings.EqualFold(t.name, name) {
			return true
		}
	}
	return false
}

func (p *project) advance(now time.Time) {
	for _, t := range p.tasks {
		t.advance(now)
	}
}

// TaskSnapshot is a copy of a task's state for tests. Zero times are unset.
type TaskSnapshot struct {
	ID, Name, DRType, Status           string
	PrimaryClusterID, StandbyClusterID string
	SyncPeriod                         string
	CreateTime, StartTime, LastSyncAt  time.Time
}

func (t *task) snapshot() TaskSnapshot {
	return TaskSnapshot{
		ID: t.id, Name: t.name, DRType: t.drType, Status: t.status,
		PrimaryClusterID: t.primaryID, StandbyClusterID: t.standbyID,
		SyncPeriod: t.period, CreateTime: t.created, StartTime: t.started, LastSyncAt: t.lastSync,
	}
}

// detailJSON is DisasterRecoveryQueryResp with exactly the key set of the
// API reference example (§2.2); unset values are null, not absent.
type detailJSON struct {
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	Status         string        `json:"status"`
	DRType         string        `json:"dr_type"`
	PrimaryCluster drClusterJSON `json:"primary_cluster"`
	StandbyCluster drClusterJSON `json:"standby_cluster"`
	DRSyncPeriod   string        `json:"dr_sync_period"`
	StartTime      *string       `json:"start_time"`
	CreateTime     string        `json:"create_time"`
}

type drClusterJSON struct {
	ID              string  `json:"id"`
	Name            string  `json:"name"`
	ClusterAZ       *string `json:"cluster_az"`
	Role            string  `json:"role"`
	Region          string  `json:"region"`
	Status          string  `json:"status"`
	Progress        string  `json:"progress"`
	LastSuccessTime *string `json:"last_success_time"`
	ObsBucketName   *string `json:"obs_bucket_name"`
	// In the SDK model but not in the API example: off unless
	// Options.ExtendedClusterFields.
	DatastoreVersion *string `json:"datastore_version,omitempty"`
	DatastoreType    *string `json:"datastore_type,omitempty"`
	DiskCapacity     *string `json:"disk_capacity,omitempty"`
	DiskUsed         *string `json:"disk_used,omitempty"`
}

// listItemJSON is the flat DisasterRecovery of the list (§2.3).
type listItemJSON struct {
	ID                      string  `json:"id"`
	Name                    string  `json:"name"`
	Status                  string  `json:"status"`
	DRType                  string  `json:"dr_type"`
	PrimaryClusterID        string  `json:"primary_cluster_id"`
	PrimaryClusterName      string  `json:"primary_cluster_name"`
	PrimaryClusterRole      string  `json:"primary_cluster_role"`
	PrimaryClusterStatus    string  `json:"primary_cluster_status"`
	PrimaryClusterRegion    string  `json:"primary_cluster_region"`
	PrimaryClusterProjectID string  `json:"primary_cluster_project_id"`
	StandbyClusterID        string  `json:"standby_cluster_id"`
	StandbyClusterName      string  `json:"standby_cluster_name"`
	StandbyClusterRole      string  `json:"standby_cluster_role"`
	StandbyClusterStatus    string  `json:"standby_cluster_status"`
	StandbyClusterRegion    string  `json:"standby_cluster_region"`
	StandbyClusterProjectID string  `json:"standby_cluster_project_id"`
	LastDisasterTime        *string `json:"last_disaster_time"`
	StartTime               *string `json:"start_time"`
	CreateTime              string  `json:"create_time"`
}

func formatDRTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(drTimeLayout)
	return &s
}

func (p *project) drCluster(t *task, id, role string, obs *string, extended bool) drClusterJSON {
	out := drClusterJSON{
		ID: id, Role: role, Region: Region,
		Status:          clusterDRStatus(t.status),
		Progress:        "0",
		LastSuccessTime: formatDRTime(t.lastSync),
		ObsBucketName:   obs,
	}
	if !t.lastSync.IsZero() {
		out.Progress = "100"
	}
	c := p.clusterByID(id)
	if c == nil {
		return out
	}
	out.Name = c.Name
	az := c.AZ
	out.ClusterAZ = &az
	if extended {
		version, typ, capacity, used := c.Version, c.DatastoreType, "1200", "3.25"
		out.DatastoreVersion, out.DatastoreType, out.DiskCapacity, out.DiskUsed = &version, &typ, &capacity, &used
	}
	return out
}

func (p *project) detail(t *task, extended bool) detailJSON {
	return detailJSON{
		ID: t.id, Name: t.name, Status: t.status, DRType: t.drType,
		PrimaryCluster: p.drCluster(t, t.primaryID, "primary", t.primaryOBS, extended),
		StandbyCluster: p.drCluster(t, t.standbyID, "standby", t.standbyOBS, extended),
		DRSyncPeriod:   t.period,
		StartTime:      formatDRTime(t.started),
		CreateTime:     *formatDRTime(t.created),
	}
}

// listItem is built from the detail view so that the two always agree.
func (p *project) listItem(t *task) listItemJSON {
	d := p.detail(t, false)
	return listItemJSON{
		ID: d.ID, Name: d.Name, Status: d.Status, DRType: d.DRType,
		PrimaryClusterID: d.PrimaryCluster.ID, PrimaryClusterName: d.PrimaryCluster.Name,
		PrimaryClusterRole: d.PrimaryCluster.Role, PrimaryClusterStatus: d.PrimaryCluster.Status,
		PrimaryClusterRegion: d.PrimaryCluster.Region, PrimaryClusterProjectID: p.id,
		StandbyClusterID: d.StandbyCluster.ID, StandbyClusterName: d.StandbyCluster.Name,
		StandbyClusterRole: d.StandbyCluster.Role, StandbyClusterStatus: d.StandbyCluster.Status,
		StandbyClusterRegion: d.StandbyCluster.Region, StandbyClusterProjectID: p.id,
		LastDisasterTime: d.PrimaryCluster.LastSuccessTime,
		StartTime:        d.StartTime,
		CreateTime:       d.CreateTime,
	}
}
