package dwssim

import (
	"encoding/json"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{3,63}$`)
	periodRE = regexp.MustCompile(`^([1-9][0-9]{0,3})[mHd]$`)
	uuidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`)
)

// validateBucket applies the OBS bucket naming rule to an optional bucket
// field: 3 to 63 characters (DWS.5056), lowercase letters, digits, - and .,
// starting and ending with a letter or digit, no two dots in a row
// (DWS.5065). The DR API states no rule of its own for these fields; a
// bucket that OBS could not name cannot exist, so the simulator refuses it
// as a parameter error (unverified: codes). An empty value means unset.
func validateBucket(field string, value *string) *apiError {
	if value == nil || *value == "" {
		return nil
	}
	b := *value
	if n := len(b); n < 3 || n > 63 {
		return &apiError{Status: http.StatusBadRequest, Code: CodeStringLength,
			Message: "Invalid string length of parameter " + field + ": an OBS bucket name has 3 to 63 characters."}
	}
	if !bucketRE.MatchString(b) || strings.Contains(b, "..") {
		return invalidFormat("Invalid format of parameter %s: an OBS bucket name has lowercase letters, digits, - and ., "+
			"starts and ends with a letter or digit, and has no two dots in a row.", field)
	}
	return nil
}

// validateName applies the task name rules (§3.4): length first (DWS.5056),
// then the character rules (DWS.5065).
func validateName(name string) *apiError {
	if n := utf8.RuneCountInString(name); n < 4 || n > 64 {
		return &apiError{Status: http.StatusBadRequest, Code: CodeStringLength,
			Message: "Invalid string length of parameter name: it must be 4 to 64 characters."}
	}
	if !nameRE.MatchString(name) {
		return invalidFormat("Invalid format of parameter name: letters, digits, - and _, starting with a letter.")
	}
	return nil
}

// validatePeriod applies the dr_sync_period rule (§3.3): the strict format
// (DWS.5065), then 1..3000 for every unit (DWS.5038).
func validatePeriod(period string) *apiError {
	m := periodRE.FindStringSubmatch(period)
	if m == nil {
		return invalidFormat("Invalid format of parameter dr_sync_period: a number followed by m, H or d.")
	}
	if n, _ := strconv.Atoi(m[1]); n > 3000 {
		return &apiError{Status: http.StatusBadRequest, Code: CodeOutOfRange,
			Message: "Parameter dr_sync_period is out of range: 1 to 3000."}
	}
	return nil
}

// jsonBody refuses a request body that is not declared as JSON: the
// Content-Type must be application/json, with any parameters (the SDK sends
// application/json;charset=UTF-8). A missing Content-Type is refused too.
// The API documents no 415 (§1: 200, 400, 401, 403, 404, 500, 503), so the
// answer is 400 DWS.5065 like a body that is not valid JSON. unverified:
// the gateway's real code for this case.
func jsonBody(r *http.Request) *apiError {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return invalidFormat("The request body must be sent with Content-Type application/json, not %q.", ct)
	}
	return nil
}

// createRequest is the create body. Unknown fields are accepted and ignored,
// like the SDK-only fields the portal never sends.
type createRequest struct {
	DisasterRecovery *struct {
		Name             string  `json:"name"`
		DRType           string  `json:"dr_type"`
		PrimaryClusterID string  `json:"primary_cluster_id"`
		StandbyClusterID string  `json:"standby_cluster_id"`
		DRSyncPeriod     string  `json:"dr_sync_period"`
		PrimaryOBSBucket *string `json:"primary_obs_bucket"`
		StandbyOBSBucket *string `json:"standby_obs_bucket"`
	} `json:"disaster_recovery"`
}

type idJSON struct {
	ID string `json:"id"`
}

type taskIDResponse struct {
	DisasterRecovery idJSON `json:"disaster_recovery"`
}

// create validates in a fixed order (format, then references, then
// conflicts, then eligibility) and starts the task in "creating".
func (s *Simulator) create(c *call) (any, error) {
	if err := jsonBody(c.r); err != nil {
		return nil, err
	}
	var req createRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		return nil, invalidFormat("The request body is not valid JSON.")
	}
	dr := req.DisasterRecovery
	if dr == nil {
		return nil, invalidFormat("Parameter disaster_recovery is missing.")
	}
	for _, f := range []struct{ name, value string }{
		{"name", dr.Name}, {"dr_type", dr.DRType}, {"primary_cluster_id", dr.PrimaryClusterID},
		{"standby_cluster_id", dr.StandbyClusterID}, {"dr_sync_period", dr.DRSyncPeriod},
	} {
		if f.value == "" {
			return nil, invalidFormat("Parameter %s is missing.", f.name)
		}
	}
	if err := validateName(dr.Name); err != nil {
		return nil, err
	}
	if dr.DRType != "az" && dr.DRType != "region" {
		return nil, invalidFormat("Invalid format of parameter dr_type: az or region.")
	}
	if err := validatePeriod(dr.DRSyncPeriod); err != nil {
		return nil, err
	}
	if err := validateBucket("primary_obs_bucket", dr.PrimaryOBSBucket); err != nil {
		return nil, err
	}
	if err := validateBucket("standby_obs_bucket", dr.StandbyOBSBucket); err != nil {
		return nil, err
	}
	for _, id := range []string{dr.PrimaryClusterID, dr.StandbyClusterID} {
		if !uuidRE.MatchString(id) {
			return nil, &apiError{Status: http.StatusBadRequest, Code: CodeInvalidID,
				Message: "Invalid ID: " + strconv.Quote(id) + " is not a standard UUID."}
		}
	}
	if strings.EqualFold(dr.PrimaryClusterID, dr.StandbyClusterID) {
		return nil, invalidFormat("The primary and standby clusters must differ.")
	}
	p := c.project
	primary, standby := p.clusterByID(dr.PrimaryClusterID), p.clusterByID(dr.StandbyClusterID)
	if primary == nil || standby == nil {
		return nil, errNoSuchCluster
	}
	if p.nameTaken(dr.Name) {
		return nil, errNameTaken
	}
	if err := topologyRefusal(dr.DRType, primary, standby); err != nil {
		return nil, err
	}
	if err := p.pairRefusal(dr.DRType, primary, standby); err != nil {
		return nil, err
	}

	t := &task{
		id: s.ids.uuid(), name: dr.Name, drType: dr.DRType, period: dr.DRSyncPeriod,
		primaryID: primary.ID, standbyID: standby.ID,
		primaryOBS: nonEmpty(dr.PrimaryOBSBucket), standbyOBS: nonEmpty(dr.StandbyOBSBucket),
		created: c.now,
	}
	p.tasks = append(p.tasks, t)
	p.accept(t, RouteCreate, c.now, s.takeFailure(RouteCreate))
	return taskIDResponse{DisasterRecovery: idJSON{ID: t.id}}, nil
}

func nonEmpty(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}

// detail answers ShowDisasterDetail; unknown IDs get 400 DWS.10101, never
// a 404 (§9.13).
func (s *Simulator) detail(c *call) (any, error) {
	t := c.project.task(c.r.PathValue("id"))
	if t == nil {
		return nil, errNoSuchTask
	}
	return struct {
		DisasterRecovery detailJSON `json:"disaster_recovery"`
	}{c.project.detail(t, c.now, s.opts.ExtendedClusterFields)}, nil
}

// list answers ListDisasterRecover with the SDK's three optional filters.
func (s *Simulator) list(c *call) (any, error) {
	q := c.r.URL.Query()
	items := []listItemJSON{}
	for _, t := range c.project.tasks {
		if v := q.Get("primary_cluster_id"); v != "" && !strings.EqualFold(v, t.primaryID) {
			continue
		}
		if v := q.Get("standby_cluster_id"); v != "" && !strings.EqualFold(v, t.standbyID) {
			continue
		}
		if v := q.Get("id"); v != "" && !strings.EqualFold(v, t.id) {
			continue
		}
		items = append(items, c.project.listItem(t, c.now))
	}
	return struct {
		DisasterRecovery []listItemJSON `json:"disaster_recovery"`
	}{items}, nil
}

// checkName answers 200 with an empty body for a free name and the
// duplicate-create error for a taken one (§9.4). Names that could never be
// created are refused with the create codes rather than reported free.
func (s *Simulator) checkName(c *call) (any, error) {
	name := c.r.URL.Query().Get("dr_name")
	if name == "" {
		return nil, invalidFormat("Parameter dr_name is missing.")
	}
	if err := validateName(name); err != nil {
		return nil, err
	}
	if c.project.nameTaken(name) {
		return nil, errNameTaken
	}
	return nil, nil
}

// availableClusters answers endpoint 13: the clusters in standby_az_code
// (of standby_region, by default the primary's region) that could be the
// standby of primary_cluster_id in a task of dr_type (by default az). A
// primary that cannot take part in DR gets the same error as a create
// would; the primary's own AZ has no cross-AZ standby, so it lists none.
func (s *Simulator) availableClusters(c *call) (any, error) {
	q := c.r.URL.Query()
	primaryID, az := q.Get("primary_cluster_id"), q.Get("standby_az_code")
	if primaryID == "" || az == "" {
		return nil, invalidFormat("Parameters primary_cluster_id and standby_az_code are required.")
	}
	drType, region := q.Get("dr_type"), q.Get("standby_region")
	if drType == "" {
		drType = "az"
	}
	if drType != "az" && drType != "region" {
		return nil, invalidFormat("Invalid format of parameter dr_type: az or region.")
	}
	if !uuidRE.MatchString(primaryID) {
		return nil, &apiError{Status: http.StatusBadRequest, Code: CodeInvalidID,
			Message: "Invalid ID: " + strconv.Quote(primaryID) + " is not a standard UUID."}
	}
	if dt := q.Get("datastore_type"); dt != "" && dt != DatastoreDWS {
		return nil, errTypeOrVersion
	}
	p := c.project
	primary := p.clusterByID(primaryID)
	if primary == nil {
		return nil, errNoSuchCluster
	}
	if err := typeRefusal(primary); err != nil {
		return nil, err
	}
	if err := stateRefusal(primary, p.inDR(primary.ID)); err != nil {
		return nil, err
	}
	if region == "" {
		region = primary.Region
	}
	out := []idNameJSON{}
	for _, cand := range p.clusters {
		if cand == primary || cand.Region != region || cand.AZ != az ||
			topologyRefusal(drType, primary, cand) != nil || p.pairRefusal(drType, primary, cand) != nil {
			continue
		}
		out = append(out, idNameJSON{ID: cand.ID, Name: cand.Name})
	}
	return struct {
		DisasterRecoveryClusters []idNameJSON `json:"disaster_recovery_clusters"`
	}{out}, nil
}

type idNameJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// clusterList answers ListClusters: the clusters of the region served, not
// the remote one of a cross-region pair. Query parameters (enterprise_project_id,
// the old datastoretype) are ignored.
func (s *Simulator) clusterList(c *call) (any, error) {
	infos := make([]clusterInfoJSON, 0, len(c.project.clusters))
	for i, cl := range c.project.clusters {
		if cl.Region == Region { // the list is per region
			infos = append(infos, cl.info(i))
		}
	}
	return struct {
		Clusters []clusterInfoJSON `json:"clusters"`
		Count    int               `json:"count"`
	}{infos, len(infos)}, nil
}
