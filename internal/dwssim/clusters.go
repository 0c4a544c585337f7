package dwssim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Region and availability zones of the seeded clusters. Region is the
// region every project is served in: its cluster list shows only the
// clusters there. RemoteRegion holds the one seeded cluster of the same
// account in another region, the standby side of a cross-region
// (dr_type=region) pair.
const (
	Region       = "cn-north-4"
	AZ1          = "cn-north-4a"
	AZ2          = "cn-north-4b"
	RemoteRegion = "cn-east-3"
	RemoteAZ     = "cn-east-3a"
)

// Cluster statuses and datastore types the simulator uses.
const (
	ClusterStatusAvailable = "AVAILABLE"
	ClusterStatusFailed    = "FAILED"
	DatastoreDWS           = "dws"    // DWS 2.0, storage and compute coupled: the only DR-capable type
	DatastoreDWS3          = "dws3.0" // decoupled storage and compute
)

// Names of the clusters seeded into every project. Each ineligible one
// breaks exactly one DR rule, so every rule can be exercised on its own.
const (
	ClusterProd1           = "dws-prod-01"      // AZ1, eligible
	ClusterProd2           = "dws-prod-02"      // AZ1, eligible
	ClusterDR1             = "dws-dr-01"        // AZ2, eligible
	ClusterDR2             = "dws-dr-02"        // AZ2, eligible, sub_status UNBALANCED
	ClusterDWS3            = "dws-v3-decoupled" // AZ2, datastore dws3.0 (400 DWS.5005)
	ClusterFailed          = "dws-failed"       // AZ2, status FAILED (403 DWS.7023)
	ClusterOldVersion      = "dws-old-803"      // AZ2, version 8.0.3 < 8.1.1 (400 DWS.5005)
	ClusterBusy            = "dws-busy"         // AZ2, task_status SNAPSHOTTING (403 DWS.7023)
	ClusterOtherVPC        = "dws-other-vpc"    // AZ2, another VPC (403 DWS.7023)
	ClusterEncrypted       = "dws-encrypted"    // AZ2, encrypted (403 DWS.7023)
	ClusterVersionMismatch = "dws-v813"         // AZ2, 8.1.3: fine alone, but not paired with 8.2.1 (400 DWS.5005)
	ClusterRemote          = "dws-dr-remote"    // RemoteRegion, eligible as the standby of a cross-region task only
)

// EligibleVersion is the version of the eligible seeded clusters.
const EligibleVersion = "8.2.1.220"

// Cluster is a DWS cluster as the simulator keeps it. DatastoreType and
// Encrypted are not part of the cluster API (ClusterInfo), only of the
// simulator's eligibility rules. Region is Region or RemoteRegion.
type Cluster struct {
	ID, Name, Region, AZ, Status, SubStatus, Version, VPCID, DatastoreType string
	Encrypted                                                              bool
	TaskStatus                                                             string
}

// cluster is a Cluster plus the details that only feed ClusterInfo.
// projectID is the project the simulator keeps it under (its ID derives
// from it); regionProjectID is the IAM project of its own region, the
// *_cluster_project_id of the DR list.
type cluster struct {
	Cluster
	projectID        string
	regionProjectID  string
	subnetID, sgID   string
	created, updated time.Time
	nodes            int
	actionProgress   map[string]string
}

type clusterSeed struct {
	name, region, az, subStatus, version, vpc, datastore, taskStatus string
	failed, encrypted                                                bool
}

var clusterSeeds = []clusterSeed{
	{name: ClusterProd1, az: AZ1, subStatus: "NORMAL", version: EligibleVersion, vpc: "main", datastore: DatastoreDWS},
	{name: ClusterProd2, az: AZ1, subStatus: "NORMAL", version: EligibleVersion, vpc: "main", datastore: DatastoreDWS},
	{name: ClusterDR1, az: AZ2, subStatus: "NORMAL", version: EligibleVersion, vpc: "main", datastore: DatastoreDWS},
	{name: ClusterDR2, az: AZ2, subStatus: "UNBALANCED", version: EligibleVersion, vpc: "main", datastore: DatastoreDWS},
	{name: ClusterDWS3, az: AZ2, subStatus: "NORMAL", version: EligibleVersion, vpc: "main", datastore: DatastoreDWS3},
	{name: ClusterFailed, az: AZ2, subStatus: "NORMAL", version: EligibleVersion, vpc: "main", datastore: DatastoreDWS, failed: true},
	{name: ClusterOldVersion, az: AZ2, subStatus: "NORMAL", version: "8.0.3.100", vpc: "main", datastore: DatastoreDWS},
	{name: ClusterBusy, az: AZ2, subStatus: "NORMAL", version: EligibleVersion, vpc: "main", datastore: DatastoreDWS, taskStatus: "SNAPSHOTTING"},
	{name: ClusterOtherVPC, az: AZ2, subStatus: "NORMAL", version: EligibleVersion, vpc: "other", datastore: DatastoreDWS},
	{name: ClusterEncrypted, az: AZ2, subStatus: "NORMAL", version: EligibleVersion, vpc: "main", datastore: DatastoreDWS, encrypted: true},
	{name: ClusterVersionMismatch, az: AZ2, subStatus: "NORMAL", version: "8.1.3.110", vpc: "main", datastore: DatastoreDWS},
	// Last, so that the list positions (and endpoint addresses) of the
	// clusters above do not depend on it.
	{name: ClusterRemote, region: RemoteRegion, az: RemoteAZ, subStatus: "NORMAL", version: EligibleVersion, vpc: "remote", datastore: DatastoreDWS},
}

// ClusterID is the ID the simulator gives the seeded cluster name in a
// project: derived from both, so it is stable across restarts.
func ClusterID(projectID, name string) string { return nameUUID(projectID, "cluster", name) }

// RegionProjectID is the IAM project ID, in another region, of the account
// that owns projectID: a project ID is per region, so the remote cluster's
// side of a cross-region task carries this one. 32 lower-case hex digits,
// like a real project ID.
func RegionProjectID(projectID, region string) string {
	if region == Region {
		return projectID
	}
	return strings.ReplaceAll(nameUUID(projectID, "project", region), "-", "")
}

// seedClusters builds the fixed cluster set of a project.
func seedClusters(projectID string) []*cluster {
	base := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
	out := make([]*cluster, 0, len(clusterSeeds))
	for i, s := range clusterSeeds {
		region := s.region
		if region == "" {
			region = Region
		}
		c := &cluster{
			Cluster: Cluster{
				ID: ClusterID(projectID, s.name), Name: s.name, Region: region, AZ: s.az,
				Status: ClusterStatusAvailable, SubStatus: s.subStatus, Version: s.version,
				VPCID: nameUUID(projectID, "vpc", s.vpc), DatastoreType: s.datastore,
				Encrypted: s.encrypted, TaskStatus: s.taskStatus,
			},
			projectID:       projectID,
			regionProjectID: RegionProjectID(projectID, region),
			subnetID:        nameUUID(projectID, "subnet", s.vpc),
			sgID:            nameUUID(projectID, "security-group", s.vpc),
			created:         base.Add(time.Duration(i) * time.Hour),
			updated:         base.Add(time.Duration(i)*time.Hour + 20*time.Minute),
			nodes:           3,
		}
		if s.failed {
			c.Status = ClusterStatusFailed
		}
		if s.taskStatus != "" {
			c.actionProgress = map[string]string{s.taskStatus: "20%"}
		}
		out = append(out, c)
	}
	return out
}

// typeRefusal says why c's datastore type or version rules out DR.
func typeRefusal(c *cluster) *apiError {
	if c.DatastoreType != DatastoreDWS || compareVersions(c.Version, "8.1.1") < 0 {
		return errTypeOrVersion
	}
	return nil
}

// stateRefusal says why c cannot join a DR pair. The API reads "Available
// or Unbalanced": status AVAILABLE with sub_status NORMAL (or empty) or one
// that contains UNBALANCED; and not busy with another task: a state that
// may pass, 403 DWS.7023 as documented. Encryption and membership of another
// DR task never pass: they get the same code (simulator choice: no
// documented code) with the documented message followed by the cause, so a
// client can tell a final refusal from a passing one.
func stateRefusal(c *cluster, inDR bool) *apiError {
	okSub := c.SubStatus == "" || c.SubStatus == "NORMAL" || strings.Contains(c.SubStatus, "UNBALANCED")
	switch {
	case c.Encrypted:
		return permanentState("cluster %s is encrypted", c.Name)
	case inDR:
		return permanentState("cluster %s is already in a DR task", c.Name)
	case c.Status != ClusterStatusAvailable || !okSub || c.TaskStatus != "":
		return errState
	}
	return nil
}

// permanentState is 403 DWS.7023 for a cause that cannot pass: the
// documented message, then the cause.
func permanentState(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: CodeStateNotAllowed,
		Message: strings.TrimSuffix(msgState, ".") + ": " + fmt.Sprintf(format, args...) + "."}
}

// topologyRefusal checks that a pair has the shape its dr_type names
// (docs/dws-dr-api.md §3.2): az is cross-AZ within one region, so the two
// clusters must share the region and differ in AZ; region is cross-region,
// so they must differ in region. Refused with 400 DWS.5065 like the other
// pair-shape fault, the same cluster on both sides: a request that cannot
// succeed whatever the clusters' state, so not the transient 403 DWS.7023.
// unverified: the API documents no code for either refusal.
func topologyRefusal(drType string, primary, standby *cluster) *apiError {
	switch {
	case drType == "az" && primary.Region != standby.Region:
		return invalidFormat("dr_type az pairs clusters of one region; the primary is in %s and the standby in %s: use dr_type region.",
			primary.Region, standby.Region)
	case drType == "az" && primary.AZ == standby.AZ:
		return invalidFormat("dr_type az needs the clusters in different availability zones; both are in %s.", primary.AZ)
	case drType == "region" && primary.Region == standby.Region:
		return invalidFormat("dr_type region needs the clusters in different regions; both are in %s: use dr_type az.", primary.Region)
	}
	return nil
}

// pairRefusal checks a primary/standby pair: type and version rules first
// (400), then state rules (403). Both sides must run the same version
// (compared on its first three numbers, so hotfix builds may differ); a
// cross-AZ pair must also sit in one VPC (a VPC does not span regions, so
// the rule cannot apply to a cross-region pair).
func (p *project) pairRefusal(drType string, primary, standby *cluster) *apiError {
	for _, c := range []*cluster{primary, standby} {
		if e := typeRefusal(c); e != nil {
			return e
		}
	}
	if versionKey(primary.Version) != versionKey(standby.Version) {
		return errTypeOrVersion
	}
	for _, c := range []*cluster{primary, standby} {
		if e := stateRefusal(c, p.inDR(c.ID)); e != nil {
			return e
		}
	}
	if drType == "az" && primary.VPCID != standby.VPCID {
		return permanentState("the clusters are in different VPCs")
	}
	return nil
}

// compareVersions compares dot-separated numeric versions; missing or
// non-numeric parts count as 0.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func versionKey(v string) string {
	parts := strings.SplitN(v, ".", 4)
	return strings.Join(parts[:min(3, len(parts))], ".")
}

// ClusterInfo JSON, with every field of the SDK's model.ClusterInfo present
// so that strict readers and the SDK both decode it.
type clusterInfoJSON struct {
	ID                  string               `json:"id"`
	Name                string               `json:"name"`
	Status              string               `json:"status"`
	Version             string               `json:"version"`
	Updated             string               `json:"updated"`
	Created             string               `json:"created"`
	Port                int                  `json:"port"`
	Endpoints           []endpointJSON       `json:"endpoints"`
	Nodes               []nodeJSON           `json:"nodes"`
	Tags                []tagJSON            `json:"tags"`
	UserName            string               `json:"user_name"`
	NumberOfNode        int                  `json:"number_of_node"`
	RecentEvent         int                  `json:"recent_event"`
	AvailabilityZone    string               `json:"availability_zone"`
	EnterpriseProjectID string               `json:"enterprise_project_id"`
	NodeType            string               `json:"node_type"`
	VPCID               string               `json:"vpc_id"`
	SubnetID            string               `json:"subnet_id"`
	PublicIP            publicIPJSON         `json:"public_ip"`
	PublicEndpoints     []publicEndpointJSON `json:"public_endpoints"`
	ActionProgress      map[string]string    `json:"action_progress"`
	SubStatus           string               `json:"sub_status"`
	TaskStatus          string               `json:"task_status"`
	SecurityGroupID     string               `json:"security_group_id"`
	FailedReasons       *failedReasonJSON    `json:"failed_reasons"`
}

type endpointJSON struct {
	ConnectInfo string `json:"connect_info"`
	JdbcURL     string `json:"jdbc_url"`
}

type nodeJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Name   string `json:"name"`
}

type tagJSON struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type publicIPJSON struct {
	PublicBindType string `json:"public_bind_type"`
	EipID          string `json:"eip_id"`
}

type publicEndpointJSON struct {
	PublicConnectInfo string `json:"public_connect_info"`
	JdbcURL           string `json:"jdbc_url"`
}

type failedReasonJSON struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
}

// clusterTimeLayout is the cluster API's timestamp form (with a Z, unlike
// the DR timestamps).
const clusterTimeLayout = "2006-01-02T15:04:05Z"

func (c *cluster) info(index int) clusterInfoJSON {
	host := fmt.Sprintf("192.168.%d.%d", 10+index, 100)
	ci := clusterInfoJSON{
		ID: c.ID, Name: c.Name, Status: c.Status, Version: c.Version,
		Updated: c.updated.UTC().Format(clusterTimeLayout),
		Created: c.created.UTC().Format(clusterTimeLayout),
		Port:    8000,
		Endpoints: []endpointJSON{{
			ConnectInfo: host + ":8000",
			JdbcURL:     "jdbc:postgresql://" + host + ":8000/<YOUR_DATABASE_name>",
		}},
		Tags:                []tagJSON{},
		UserName:            "dbadmin",
		NumberOfNode:        c.nodes,
		AvailabilityZone:    c.AZ,
		EnterpriseProjectID: "0",
		NodeType:            "dwsk2.xlarge",
		VPCID:               c.VPCID,
		SubnetID:            c.subnetID,
		PublicIP:            publicIPJSON{PublicBindType: "not_use"},
		PublicEndpoints:     []publicEndpointJSON{},
		ActionProgress:      map[string]string{},
		SubStatus:           c.SubStatus,
		TaskStatus:          c.TaskStatus,
		SecurityGroupID:     c.sgID,
	}
	for k, v := range c.actionProgress {
		ci.ActionProgress[k] = v
	}
	for i := range c.nodes {
		ci.Nodes = append(ci.Nodes, nodeJSON{
			ID:     nameUUID(c.projectID, "node", c.Name, strconv.Itoa(i)),
			Status: "200",
			Name:   fmt.Sprintf("%s-dws-cn-cn-%d-1", c.Name, i+1),
		})
	}
	if c.Status == ClusterStatusFailed {
		ci.FailedReasons = &failedReasonJSON{ErrorCode: "DWS.6000", ErrorMsg: "Cluster nodes are abnormal."}
		ci.RecentEvent = 1
	}
	return ci
}
