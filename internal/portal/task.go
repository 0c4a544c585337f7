package portal

import (
	"encoding/json"
	"fmt"
	"slices"
)

// TaskStatus is a DR task's status, in the API's words (dws-dr-api.md §3.1).
type TaskStatus string

// Task statuses.
const (
	TaskCreating      TaskStatus = "creating"
	TaskCreateFailed  TaskStatus = "create_failed"
	TaskUnstart       TaskStatus = "unstart"
	TaskStarting      TaskStatus = "starting"
	TaskStartFailed   TaskStatus = "start_failed"
	TaskRunning       TaskStatus = "running"
	TaskStopping      TaskStatus = "stopping"
	TaskStopped       TaskStatus = "stopped"
	TaskStopFailed    TaskStatus = "stop_failed"
	TaskSwitchovering TaskStatus = "switchovering"
	TaskAbnormal      TaskStatus = "abnormal"
	TaskDeleting      TaskStatus = "deleting"
	TaskDeleted       TaskStatus = "deleted"
)

// Settled reports whether a task rests in status s until someone acts.
// Unknown statuses count as in progress.
func (s TaskStatus) Settled() bool {
	return slices.Contains([]TaskStatus{TaskUnstart, TaskRunning, TaskStopped, TaskCreateFailed, TaskStartFailed,
		TaskStopFailed, TaskAbnormal, TaskDeleted}, s)
}

// Failed reports whether s is a failure state.
func (s TaskStatus) Failed() bool {
	return slices.Contains([]TaskStatus{TaskCreateFailed, TaskStartFailed, TaskStopFailed, TaskAbnormal}, s)
}

// Task is what the portal knows of one DR task from its detail. Its JSON
// form (see EncodeTask) is the portal's own stored format, independent of
// the SDK's serialisation.
type Task struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Status     TaskStatus `json:"status"`
	DRType     string     `json:"dr_type"`
	SyncPeriod string     `json:"sync_period"`
	StartTime  string     `json:"start_time"` // as the API sends it
	CreateTime string     `json:"create_time"`
	Primary    TaskSide   `json:"primary"` // the current primary: after a switchover, the former standby
	Standby    TaskSide   `json:"standby"`
	// Raw is the body of the detail answer exactly as the cloud sent it,
	// for display; it is stored apart from the task. A very long answer is
	// kept truncated, with a marker, so it need not be valid JSON.
	Raw []byte `json:"-"`
}

// TaskSide is one side (cluster) of a DR task.
type TaskSide struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	AZ               string `json:"az"`
	Role             string `json:"role"`
	Region           string `json:"region"`
	Status           string `json:"status"`   // backuping, restoring, stopped, waiting, abnormal, drDeleted
	Progress         string `json:"progress"` // a percentage, as the API sends it
	LastSuccessTime  string `json:"last_success_time"`
	OBSBucket        string `json:"obs_bucket"`
	DatastoreType    string `json:"datastore_type"`
	DatastoreVersion string `json:"datastore_version"`
	DiskCapacity     string `json:"disk_capacity"`
	DiskUsed         string `json:"disk_used"`
}

// TaskSummary is one item of the DR task list.
type TaskSummary struct {
	ID                 string
	Name               string
	Status             TaskStatus
	DRType             string
	PrimaryClusterID   string
	PrimaryClusterName string
	StandbyClusterID   string
	StandbyClusterName string
	LastSyncTime       string
	StartTime          string
	CreateTime         string
	Raw                json.RawMessage // the list item as read, for display
}

// Progress is the sync progress of a running task (show-progress).
type Progress struct {
	// RPO and RTO in seconds ("for reference only", says the API).
	RPOSeconds        int64  `json:"rpo_seconds"`
	RTOSeconds        int64  `json:"rto_seconds"`
	LastRecoverySpend int64  `json:"last_recovery_spend"`
	LatestBarrierTime string `json:"latest_barrier_time"`
	PrimaryAction     string `json:"primary_action"` // Backup / Restore
	StandbyAction     string `json:"standby_action"`
	UnrestoredKeys    string `json:"unrestored_keys"`
}

// CreateSpec is what a create asks for: the API's required fields and the
// optional OBS buckets.
type CreateSpec struct {
	Name             string
	DRType           string
	PrimaryClusterID string
	StandbyClusterID string
	SyncPeriod       string
	PrimaryOBSBucket string
	StandbyOBSBucket string
}

// StoredVersion is the version of the stored task and progress JSON.
const StoredVersion = 1

// EncodeTask is t in the portal's stored, versioned JSON:
// {"version":1,"task":{...}}.
func EncodeTask(t Task) ([]byte, error) { return encodeStored("task", t) }

// DecodeTask reads a task stored by EncodeTask.
func DecodeTask(b []byte) (Task, error) { return decodeStored[Task]("task", b) }

// EncodeProgress is p in the portal's stored, versioned JSON:
// {"version":1,"progress":{...}}.
func EncodeProgress(p Progress) ([]byte, error) { return encodeStored("progress", p) }

// DecodeProgress reads progress stored by EncodeProgress.
func DecodeProgress(b []byte) (Progress, error) { return decodeStored[Progress]("progress", b) }

func encodeStored(key string, v any) ([]byte, error) {
	return json.Marshal(map[string]any{"version": StoredVersion, key: v})
}

func decodeStored[T any](key string, b []byte) (T, error) {
	var out T
	var s map[string]json.RawMessage
	if err := json.Unmarshal(b, &s); err != nil {
		return out, fmt.Errorf("stored %s: %w", key, err)
	}
	var version int
	if err := json.Unmarshal(s["version"], &version); err != nil || version != StoredVersion {
		return out, fmt.Errorf("stored %s: version %s, this portal reads %d", key, s["version"], StoredVersion)
	}
	if err := json.Unmarshal(s[key], &out); err != nil {
		return out, fmt.Errorf("stored %s: %w", key, err)
	}
	return out, nil
}
