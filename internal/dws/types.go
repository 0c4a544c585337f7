package dws

import (
	"strings"
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
	Nodes      int    // number_of_node; 0 when the list does not say
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

// The portal's task types live in package portal; this package maps the
// SDK's models to them (client.go) and back (payload.go).
