package dws

import (
	"encoding/json"
	"strings"
	"time"
)

// Cluster is a DWS cluster as the cluster list reports it.
type Cluster struct {
	ID         string
	Name       string
	Status     string // AVAILABLE, CREATING, FAILED, ...
	SubStatus  string // NORMAL, UNBALANCED, "UNBALANCED | READONLY", ...
	Version    string
	AZ         string
	VPCID      string
	TaskStatus string // set while the cluster is busy (e.g. SNAPSHOTTING)
}

// Usable reports whether the cluster is in a state a DR task can be created
// on: Available (the API's older docs say ACTIVE) with a normal or
// unbalanced sub-status, and not busy with another task.
func (c Cluster) Usable() bool {
	st := strings.ToUpper(c.Status)
	if st != "AVAILABLE" && st != "ACTIVE" {
		return false
	}
	sub := strings.ToUpper(c.SubStatus)
	if sub != "" && sub != "NORMAL" && !strings.Contains(sub, "UNBALANCED") {
		return false
	}
	return c.TaskStatus == ""
}

// ClusterRef names a cluster, as the available-DR-clusters call lists them.
type ClusterRef struct {
	ID   string
	Name string
}

// Task is the detail of one DR task.
type Task struct {
	ID         string
	Name       string
	Status     string
	DRType     string
	SyncPeriod string
	StartTime  string // zone-less UTC, as sent
	CreateTime string
	Primary    TaskCluster // the current primary: after a switchover, the former standby
	Standby    TaskCluster
	// Raw is the detail object as the portal stores it.
	Raw json.RawMessage
}

// TaskCluster is one side of a DR task.
type TaskCluster struct {
	ID               string
	Name             string
	AZ               string
	Role             string
	Region           string
	Status           string // backuping, restoring, stopped, waiting, abnormal, drDeleted
	Progress         string // a percentage as a string
	LastSuccessTime  string
	OBSBucket        string
	DatastoreType    string
	DatastoreVersion string
	DiskCapacity     string
	DiskUsed         string
}

// TaskSummary is one item of the DR task list.
type TaskSummary struct {
	ID                   string
	Name                 string
	Status               string
	DRType               string
	PrimaryClusterID     string
	PrimaryClusterName   string
	PrimaryClusterRole   string
	PrimaryClusterStatus string
	PrimaryClusterRegion string
	StandbyClusterID     string
	StandbyClusterName   string
	StandbyClusterRole   string
	StandbyClusterStatus string
	StandbyClusterRegion string
	LastSyncTime         string
	StartTime            string
	CreateTime           string
	Raw                  json.RawMessage
}

// CreateParams is the body of a create call. The portal sends the API's
// required fields and the optional OBS buckets.
type CreateParams struct {
	Name             string `json:"name"`
	DRType           string `json:"dr_type"`
	PrimaryClusterID string `json:"primary_cluster_id"`
	StandbyClusterID string `json:"standby_cluster_id"`
	SyncPeriod       string `json:"dr_sync_period"`
	PrimaryOBSBucket string `json:"primary_obs_bucket,omitempty"`
	StandbyOBSBucket string `json:"standby_obs_bucket,omitempty"`
}

// Task statuses (dws-dr-api.md §3.1).
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
	StatusDeleted       = "deleted"
)

// Settled reports whether a task status is one the task rests in until
// someone acts. Unknown statuses count as in progress.
func Settled(status string) bool {
	switch status {
	case StatusUnstart, StatusRunning, StatusStopped, StatusCreateFailed, StatusStartFailed,
		StatusStopFailed, StatusAbnormal, StatusDeleted:
		return true
	}
	return false
}

// Failed reports whether a task status is a failure state.
func Failed(status string) bool {
	switch status {
	case StatusCreateFailed, StatusStartFailed, StatusStopFailed, StatusAbnormal:
		return true
	}
	return false
}

// timeLayouts are the forms DR timestamps come in: zone-less UTC as the API
// documents, and RFC 3339 to be lenient.
var timeLayouts = []string{"2006-01-02T15:04:05", time.RFC3339Nano, "2006-01-02 15:04:05"}

// ParseTime parses a DR timestamp leniently; ok is false for empty,
// "null" or unparseable values.
func ParseTime(s string) (t time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" {
		return time.Time{}, false
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
