package dwssim

import (
	"fmt"
	"strconv"
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

// drTimeLayout is the DR API's zone-less UTC timestamp form.
const drTimeLayout = "2006-01-02T15:04:05"

// Cluster DR statuses (docs/dws-dr-api.md §3.2).
const (
	clusterBackuping = "backuping"
	clusterRestoring = "restoring"
	clusterWaiting   = "waiting"
	clusterStopped   = "stopped"
	clusterAbnormal  = "abnormal"
)

// task is one DR task. primaryID/standbyID are the current roles, which a
// switchover or a failover swaps.
type task struct {
	id, name, drType, period string
	status                   string
	primaryID, standbyID     string
	primaryOBS, standbyOBS   *string
	created                  time.Time
	started, lastSync        time.Time // zero until the first start / sync

	// Sync cycles while running: cycle n (from 0) runs from
	// syncAnchor+n·cycleLen for cycleLen; its first half backs up and
	// restores, the second half waits. At its end last_success_time moves
	// to that instant. cycleLen is fixed at each start, so an updated
	// period applies from the next start.
	syncAnchor   time.Time
	cycleLen     time.Duration
	anchorCycles int64 // cycles completed since syncAnchor
	totalCycles  int   // cycles completed over the task's life
	lastBackup   backupWindow

	// Failover bookkeeping: failedOver is set by a successful failover and
	// cleared by a successful recovery; watermark is the promoted data's
	// watermark (writes to the old primary after it are lost).
	failedOver            bool
	failoverAt, watermark time.Time

	// The operation under way, from its 200 until it settles. Transitions
	// are evaluated lazily from the clock on every access, so there are no
	// goroutines to stop.
	op *pendingOp
}

// pendingOp is an accepted operation. Until begins (the acceptance lag)
// the task still shows its pre-call status; then it shows the transient
// status until ends, and then it settles.
type pendingOp struct {
	name      string // RouteCreate, RouteStart, ...
	from      string // status before the call
	transient string
	begins    time.Time
	ends      time.Time
	begun     bool
	fails     bool
	watermark time.Time // failover: last_success_time when the phase began
}

// backupWindow is one sync cycle's backup/restore action.
type backupWindow struct {
	key        string
	start, end time.Time
}

// phase is the transient status and duration of each asynchronous
// operation (docs/dws-dr-api.md §4 and the simulator's answers in §9.1).
func phase(op string, d Durations) (transient string, dur time.Duration) {
	switch op {
	case RouteCreate:
		return StatusCreating, d.Creating
	case RouteStart:
		return StatusStarting, d.Starting
	case RoutePause:
		return StatusStopping, d.Stopping
	case RouteSwitchover:
		return StatusSwitchovering, d.Switchover
	case RouteFailover:
		return StatusSwitchovering, d.Failover
	case RouteRecovery:
		return StatusStarting, d.Recovery
	case RouteDelete:
		return StatusDeleting, d.Deleting
	}
	panic("dwssim: no phase for operation " + op)
}

// accept records an accepted operation on t at now. The acceptance lag
// does not apply to create, which has no pre-call status to show.
func (p *project) accept(t *task, op string, now time.Time, fails bool) {
	transient, d := phase(op, p.tm.phases)
	lag := p.tm.acceptanceLag
	if op == RouteCreate {
		lag = 0
	}
	t.op = &pendingOp{name: op, from: t.status, transient: transient,
		begins: now.Add(lag), ends: now.Add(lag + d), fails: fails}
	p.advanceTask(t, now)
}

// advanceTask brings t up to now: sync cycles, the start of a pending
// phase and its settlement, in time order. It reports whether the task is
// gone (deleted).
func (p *project) advanceTask(t *task, now time.Time) (gone bool) {
	for {
		if t.status == StatusRunning {
			horizon := now
			if t.op != nil && !t.op.begun && t.op.begins.Before(horizon) {
				horizon = t.op.begins // cycles stop when the operation takes effect
			}
			t.syncUntil(horizon)
		}
		op := t.op
		switch {
		case op == nil:
			return false
		case !op.begun:
			if now.Before(op.begins) {
				return false
			}
			p.beginPhase(t)
		case now.Before(op.ends):
			return false
		default:
			if p.settle(t) {
				return true
			}
		}
	}
}

// beginPhase makes an accepted operation visible: the task enters the
// transient status, with the effects that happen at that instant.
func (p *project) beginPhase(t *task) {
	op := t.op
	op.begun = true
	t.status = op.transient
	at := op.begins
	switch op.name {
	case RouteStart:
		t.started = at // reset at each start (§9.5)
		t.cycleLen = p.tm.cycle(parsePeriod(t.period))
	case RouteFailover:
		op.watermark = t.lastSync
	case RouteRecovery:
		// Recovery rebuilds the pair and wipes the DR side, then resyncs.
		t.started = at
		t.lastSync = time.Time{}
		t.lastBackup = backupWindow{}
		t.cycleLen = p.tm.cycle(parsePeriod(t.period))
	}
}

// settle ends the transient phase in its success or failure status. It
// reports whether the task is gone.
func (p *project) settle(t *task) (gone bool) {
	op := t.op
	t.op = nil
	at := op.ends
	if op.fails {
		switch op.name {
		case RouteCreate:
			t.status = StatusCreateFailed
		case RouteStart:
			t.status = StatusStartFailed
		case RoutePause:
			t.status = StatusStopFailed
		case RouteSwitchover, RouteFailover, RouteRecovery:
			t.status = StatusAbnormal // roles unchanged
		case RouteDelete:
			t.status = op.from
		}
		return false
	}
	switch op.name {
	case RouteCreate:
		t.status = StatusUnstart
	case RouteStart, RouteRecovery:
		if op.name == RouteRecovery {
			t.failedOver = false
		}
		p.enterRunning(t, at)
	case RoutePause:
		t.status = StatusStopped
	case RouteSwitchover:
		t.swapRoles()
		t.lastSync = at // a planned switchover loses nothing: RPO 0
		p.enterRunning(t, at)
	case RouteFailover:
		t.swapRoles()
		t.status = StatusAbnormal
		t.failedOver, t.failoverAt, t.watermark = true, at, op.watermark
	case RouteDelete:
		return true
	}
	return false
}

// enterRunning starts the sync cycles at at. A pair with a faulty cluster
// cannot run: DR notices at once and the task is abnormal.
func (p *project) enterRunning(t *task, at time.Time) {
	if p.faulty(t.primaryID) || p.faulty(t.standbyID) {
		t.status = StatusAbnormal
		return
	}
	t.status = StatusRunning
	t.syncAnchor, t.anchorCycles = at, 0
	if t.cycleLen == 0 {
		t.cycleLen = p.tm.cycle(parsePeriod(t.period))
	}
}

func (t *task) swapRoles() {
	t.primaryID, t.standbyID = t.standbyID, t.primaryID
	t.primaryOBS, t.standbyOBS = t.standbyOBS, t.primaryOBS
}

// syncUntil completes the sync cycles that end by h.
func (t *task) syncUntil(h time.Time) {
	if h.Before(t.syncAnchor) {
		return
	}
	n := int64(h.Sub(t.syncAnchor) / t.cycleLen)
	if n <= t.anchorCycles {
		return
	}
	t.totalCycles += int(n - t.anchorCycles)
	t.anchorCycles = n
	t.lastSync = t.syncAnchor.Add(time.Duration(n) * t.cycleLen)
	t.lastBackup = t.cycleWindow(n-1, t.totalCycles-1)
	t.lastBackup.end = t.lastBackup.start.Add(t.cycleLen / 2)
}

// cycleWindow is the backup of cycle n since the anchor (global index
// idx), with no end yet.
func (t *task) cycleWindow(n int64, idx int) backupWindow {
	start := t.syncAnchor.Add(time.Duration(n) * t.cycleLen)
	return backupWindow{key: fmt.Sprintf("%s_%05d", start.UTC().Format("20060102150405"), idx+1), start: start}
}

// activeCycle returns the backup/restore under way at now, if the task is
// running and inside the first half of a cycle, and how far it has got
// (0 to 99 percent).
func (t *task) activeCycle(now time.Time) (w backupWindow, percent int64, ok bool) {
	if t.status != StatusRunning || now.Before(t.syncAnchor) {
		return backupWindow{}, 0, false
	}
	w = t.cycleWindow(t.anchorCycles, t.totalCycles)
	active := t.cycleLen / 2
	elapsed := now.Sub(w.start)
	if active <= 0 || elapsed >= active {
		return backupWindow{}, 0, false
	}
	return w, int64(elapsed * 100 / active), true
}

// clusterDRState is a cluster's DR status and progress, by role. A task
// that never ran reports its clusters as "stopped" (simulator choice).
func (t *task) clusterDRState(now time.Time, primary bool) (status, progress string) {
	progress = "0"
	if !t.lastSync.IsZero() {
		progress = "100"
	}
	switch t.status {
	case StatusCreateFailed, StatusAbnormal:
		return clusterAbnormal, progress
	case StatusRunning:
		if _, pct, ok := t.activeCycle(now); ok {
			if primary {
				return clusterBackuping, strconv.FormatInt(pct, 10)
			}
			return clusterRestoring, strconv.FormatInt(pct, 10)
		}
		return clusterWaiting, "100"
	case StatusSwitchovering:
		return clusterWaiting, progress
	default:
		return clusterStopped, progress
	}
}

// project is the state behind one project_id.
type project struct {
	id       string
	tm       *timing
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

// regionProjectID is the project ID of the region a cluster is in.
func (p *project) regionProjectID(clusterID string) string {
	if c := p.clusterByID(clusterID); c != nil {
		return c.regionProjectID
	}
	return p.id
}

func (p *project) clusterByName(name string) *cluster {
	for _, c := range p.clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// task finds a task by ID, case-insensitively like clusterByID: a UUID's
// hex digits mean the same in either case.
func (p *project) task(id string) *task {
	for _, t := range p.tasks {
		if strings.EqualFold(t.id, id) {
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

// advance brings every task up to now and drops the deleted ones.
func (p *project) advance(now time.Time) {
	kept := p.tasks[:0]
	for _, t := range p.tasks {
		if !p.advanceTask(t, now) {
			kept = append(kept, t)
		}
	}
	clear(p.tasks[len(kept):])
	p.tasks = kept
}

// faulty reports whether a cluster is down: its ClusterInfo status is
// FAILED (SetClusterFaulty, or SetClusterStatus for a fault DR has not
// noticed yet).
func (p *project) faulty(clusterID string) bool {
	c := p.clusterByID(clusterID)
	return c != nil && c.Status == ClusterStatusFailed
}

// TaskSnapshot is a copy of a task's state for tests. Zero times are unset.
type TaskSnapshot struct {
	ID, Name, DRType, Status string
	// The current roles: a switchover or failover swaps them.
	PrimaryClusterID, StandbyClusterID     string
	PrimaryClusterName, StandbyClusterName string
	// Whether each current cluster is faulty (ClusterInfo status FAILED).
	PrimaryFaulty, StandbyFaulty bool
	// SyncPeriod is dr_sync_period as stored (an update shows at once;
	// the sync cycles use it from the next start).
	SyncPeriod string
	// LastSyncAt is last_success_time (and the list's last_disaster_time).
	CreateTime, StartTime, LastSyncAt time.Time
	// SyncCycles counts the sync cycles completed over the task's life.
	SyncCycles int
	// Operation is the operation accepted and not yet settled ("start",
	// "switchover", ...), through its acceptance lag and transient phase;
	// "" when none.
	Operation string
	// FailedOver is set by a successful failover and cleared by a
	// successful recovery: it is what allows a recovery.
	FailedOver bool
	// FailoverAt is when the last failover completed. Watermark is the
	// data watermark it promoted the standby with (the standby's
	// last_success_time then; zero if it had never synced): everything
	// written to the old primary after Watermark is lost. Both stay set
	// after a recovery, since the lost writes stay lost.
	FailoverAt, Watermark time.Time
}

func (p *project) snapshot(t *task) TaskSnapshot {
	s := TaskSnapshot{
		ID: t.id, Name: t.name, DRType: t.drType, Status: t.status,
		PrimaryClusterID: t.primaryID, StandbyClusterID: t.standbyID,
		PrimaryFaulty: p.faulty(t.primaryID), StandbyFaulty: p.faulty(t.standbyID),
		SyncPeriod: t.period, CreateTime: t.created, StartTime: t.started, LastSyncAt: t.lastSync,
		SyncCycles: t.totalCycles,
		FailedOver: t.failedOver, FailoverAt: t.failoverAt, Watermark: t.watermark,
	}
	if c := p.clusterByID(t.primaryID); c != nil {
		s.PrimaryClusterName = c.Name
	}
	if c := p.clusterByID(t.standbyID); c != nil {
		s.StandbyClusterName = c.Name
	}
	if t.op != nil {
		s.Operation = t.op.name
	}
	return s
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

func (p *project) drCluster(t *task, now time.Time, id, role string, obs *string, extended bool) drClusterJSON {
	status, progress := t.clusterDRState(now, role == "primary")
	out := drClusterJSON{
		ID: id, Role: role, Region: Region,
		Status:          status,
		Progress:        progress,
		LastSuccessTime: formatDRTime(t.lastSync),
		ObsBucketName:   obs,
	}
	c := p.clusterByID(id)
	if c == nil {
		return out
	}
	out.Name, out.Region = c.Name, c.Region
	// The region served knows the AZs of its own clusters only: the
	// cluster of another region (the standby of a cross-region task, as in
	// the reference example of §2.2) has a null cluster_az. unverified:
	// whether the null follows the cluster or the standby role after a
	// switchover; the simulator keeps it with the cluster.
	if c.Region == Region {
		az := c.AZ
		out.ClusterAZ = &az
	}
	if extended {
		version, typ, capacity, used := c.Version, c.DatastoreType, "1200", "3.25"
		out.DatastoreVersion, out.DatastoreType, out.DiskCapacity, out.DiskUsed = &version, &typ, &capacity, &used
	}
	return out
}

// detail is the task as ShowDisasterDetail shows it at now (the project
// must have been advanced to now).
func (p *project) detail(t *task, now time.Time, extended bool) detailJSON {
	return detailJSON{
		ID: t.id, Name: t.name, Status: t.status, DRType: t.drType,
		PrimaryCluster: p.drCluster(t, now, t.primaryID, "primary", t.primaryOBS, extended),
		StandbyCluster: p.drCluster(t, now, t.standbyID, "standby", t.standbyOBS, extended),
		DRSyncPeriod:   t.period,
		StartTime:      formatDRTime(t.started),
		CreateTime:     *formatDRTime(t.created),
	}
}

// listItem is built from the detail view so that the two always agree.
func (p *project) listItem(t *task, now time.Time) listItemJSON {
	d := p.detail(t, now, false)
	return listItemJSON{
		ID: d.ID, Name: d.Name, Status: d.Status, DRType: d.DRType,
		PrimaryClusterID: d.PrimaryCluster.ID, PrimaryClusterName: d.PrimaryCluster.Name,
		PrimaryClusterRole: d.PrimaryCluster.Role, PrimaryClusterStatus: d.PrimaryCluster.Status,
		PrimaryClusterRegion: d.PrimaryCluster.Region, PrimaryClusterProjectID: p.regionProjectID(d.PrimaryCluster.ID),
		StandbyClusterID: d.StandbyCluster.ID, StandbyClusterName: d.StandbyCluster.Name,
		StandbyClusterRole: d.StandbyCluster.Role, StandbyClusterStatus: d.StandbyCluster.Status,
		StandbyClusterRegion: d.StandbyCluster.Region, StandbyClusterProjectID: p.regionProjectID(d.StandbyCluster.ID),
		LastDisasterTime: d.PrimaryCluster.LastSuccessTime,
		StartTime:        d.StartTime,
		CreateTime:       d.CreateTime,
	}
}
