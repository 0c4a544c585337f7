package drtask

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/dws"
	"drportal/internal/portal"
	"drportal/internal/requests"
)

// Cloud is what the service needs of the DWS client.
type Cloud interface {
	ListClusters(ctx context.Context) ([]dws.Cluster, error)
	AvailableStandbys(ctx context.Context, primaryID, standbyAZ string) ([]dws.ClusterRef, error)
	CheckName(ctx context.Context, name string) (bool, error)
	CreateCall() (method, path string)
	OperationCall(op portal.Operation, id string) (method, path string, err error)
	Get(ctx context.Context, id string) (portal.Task, error)
	List(ctx context.Context) ([]portal.TaskSummary, error)
	Progress(ctx context.Context, id string) (portal.Progress, error)
}

// Service lists, shows and creates DR tasks.
type Service struct {
	Cloud  Cloud
	Store  *db.Store
	Now    func() time.Time
	Logger *slog.Logger
	// PageTimeout bounds the cloud calls a page waits for.
	PageTimeout time.Duration
	// PollChanging and PollSettled are how often the shared poller reads a
	// task that is changing (default 5 s: at most 12 calls a minute) and one
	// at rest (default 60 s).
	PollChanging time.Duration
	PollSettled  time.Duration
	// Zones are the time zones DR timestamps are read and shown in
	// (DWS_TIME_ZONE, DISPLAY_TIME_ZONE); the zero value is UTC for both.
	Zones portal.TimeZones
	// StandbyEvery is how often the background sync reads again the
	// eligible standbys of each usable primary (default 5 min; at once
	// after the cluster list changed); StandbyCalls bounds the standby
	// reads of one round (default 20; the rest wait for the next round),
	// so the sync stays well below the API's throttle.
	StandbyEvery time.Duration
	StandbyCalls int
	// ReadNowInterval is the least time between two reads a person asks
	// for with "Read the clusters from the cloud now" (default 15 s).
	ReadNowInterval time.Duration
	// FormReadInterval is the least time between two live reads of one
	// task that one person's operation forms cause (default 15 s;
	// negative: no limit, for tests that file in quick succession).
	FormReadInterval time.Duration
}

func (s *Service) pageCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, cmp.Or(s.PageTimeout, 10*time.Second))
}

func viewOf(row db.TaskRow) TaskView {
	v := TaskView{Row: row, Gone: row.GoneAt != nil}
	v.fill(row)
	if len(row.Detail) > 0 {
		if t, err := portal.DecodeTask(row.Detail); err == nil {
			v.Task = t
			v.Task.Raw = row.DetailRaw
			v.HasDetail = true
		}
	}
	return v
}

func optionOf(c dws.Cluster) ClusterOption {
	return ClusterOption{ID: c.ID, Name: c.Name, AZ: c.AZ, Version: c.Version, Nodes: c.Nodes}
}

// pairable says, from the cluster list alone, why standby cannot pair with
// primary in a cross-AZ task ("" when nothing in the list rules it out):
// another cluster, in another availability zone of the same VPC, on the
// same kernel (its first three numbers).
func pairable(primary, standby dws.Cluster) string {
	switch {
	case strings.EqualFold(primary.ID, standby.ID):
		return "the primary itself"
	case standby.AZ == primary.AZ:
		return "same AZ as the primary; cross-AZ DR needs another"
	case primary.VPCID != "" && standby.VPCID != "" && primary.VPCID != standby.VPCID:
		return "another VPC"
	case primary.Version != "" && standby.Version != "" && versionKey(primary.Version) != versionKey(standby.Version):
		return fmt.Sprintf("kernel %s; the primary runs %s and both sides need the same", standby.Version, primary.Version)
	}
	return ""
}

// versionKey is a kernel version's first three numbers: hotfix builds of
// one version may pair.
func versionKey(v string) string {
	parts := strings.SplitN(v, ".", 4)
	return strings.Join(parts[:min(3, len(parts))], ".")
}

// standbyRefusal says in words why the cloud gave no standbys for a
// primary, and keeps its code, message and request id apart for a
// disclosure.
func standbyRefusal(err error) (why, detail string) {
	ce, ok := dws.AsError(err)
	if !ok {
		return "The eligible standby clusters could not be read: " + apperr.Message(err) + ".", ""
	}
	detail = CloudMessage(ce)
	switch {
	case ce.Code == "DWS.5005":
		return "DWS does not accept this cluster as a DR primary: its type or kernel is not supported " +
			"(storage-compute decoupled clusters, and kernels before " + MinDRVersion + ", cannot take part in DR). Choose another primary.", detail
	case ce.Code == "DWS.7023" || ce.Kind == dws.KindIneligible || ce.Kind == dws.KindBusy:
		return "DWS does not accept this cluster as a DR primary in its current state " +
			"(it may be encrypted, already in a DR task, busy or not Available). Choose another primary.", detail
	}
	return "The eligible standby clusters could not be read from DWS just now; try again in a minute.", detail
}

// standbysFor asks the API for eligible standbys in each availability zone
// other than the primary's: a cross-AZ task protects against losing a zone.
func (s *Service) standbysFor(ctx context.Context, primary dws.Cluster, clusters []dws.Cluster) ([]dws.Cluster, error) {
	byID := map[string]dws.Cluster{}
	var zones []string
	for _, c := range clusters {
		byID[c.ID] = c
		if c.AZ != "" && c.AZ != primary.AZ && !slices.Contains(zones, c.AZ) {
			zones = append(zones, c.AZ)
		}
	}
	slices.Sort(zones)
	var out []dws.Cluster
	for _, az := range zones {
		refs, err := s.Cloud.AvailableStandbys(ctx, primary.ID, az)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			c, ok := byID[r.ID]
			if !ok {
				c = dws.Cluster{ID: r.ID, Name: r.Name, AZ: az}
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// MinDRVersion is the oldest cluster kernel DR works with (the API's
// eligibility rules, dws-dr-api.md §8).
const MinDRVersion = "8.1.1"

// primaryRefusal says, in the console's words, why c cannot be a DR
// primary from what the cluster list tells: its state or its kernel
// version ("" when nothing rules it out). Its type (DWS 2.0 only) is not in
// the list: the cloud says so when its standbys are asked for.
func primaryRefusal(c dws.Cluster) string {
	switch {
	case !c.Usable():
		return unusableReason(c)
	case c.Version != "" && compareVersions(c.Version, MinDRVersion) < 0:
		return fmt.Sprintf("kernel %s; DR needs %s or later", c.Version, MinDRVersion)
	}
	return ""
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
			return cmp.Compare(x, y)
		}
	}
	return 0
}

func unusableReason(c dws.Cluster) string {
	switch {
	case c.TaskStatus != "":
		return "busy: " + strings.ToLower(c.TaskStatus)
	case !strings.EqualFold(c.Status, "AVAILABLE") && !strings.EqualFold(c.Status, "ACTIVE"):
		return strings.ToLower(c.Status)
	default:
		return strings.ToLower(c.SubStatus)
	}
}

// CheckNameAvailable checks a name's rules, then whether the portal's copy
// of the tasks has it; it returns what is wrong, or "". It reads only the
// database: the cloud checks the name again when the request is filed.
func (s *Service) CheckNameAvailable(ctx context.Context, name string) (string, error) {
	if msg := CheckName(name); msg != "" {
		return msg, nil
	}
	taken, err := s.Store.TaskNamed(ctx, name)
	if err != nil {
		return "", err
	}
	if taken {
		return fmt.Sprintf("A DR task named %q already exists (names are compared ignoring case).", name), nil
	}
	return "", nil
}

// CreateRoute is the route of the create form's post, as its rejections
// are counted.
const CreateRoute = "/dr-tasks"

// CreatePlan is a validated create: the exact call a request will carry.
type CreatePlan struct {
	Params      portal.CreateSpec
	PrimaryName string
	StandbyName string
	Method      string
	Path        string
	Body        []byte // the exact bytes that will be sent

	// Primary and Standby name the clusters for the approvers.
	Primary, Standby portal.ClusterRef
}

// PrepareCreate validates a create form (its own rules, then name
// availability and cluster eligibility with the cloud) without changing
// anything in the cloud. Rejected input is audited and returned as field
// errors; a returned error means the cloud could not be asked.
func (s *Service) PrepareCreate(ctx context.Context, f CreateForm) (CreatePlan, FieldErrors, error) {
	f.Trim()
	errs := f.Validate()
	if len(errs) == 0 {
		// A freeze refuses the filing: say so before asking the cloud.
		now := s.Now()
		sched, err := s.Store.Schedule(ctx, now)
		if err != nil {
			return CreatePlan{}, nil, err
		}
		if g := portal.WindowState(portal.OpCreate, sched, now, false); g.Frozen {
			e := audit.FromContext(ctx, audit.ActionCreateRejected, audit.Denied)
			e.OccurredAt = now
			e.Detail = audit.Detail(map[string]any{"form": rejectedFormDetail(f), "errors": map[string]string{"freeze": fmt.Sprintf(
				"the freeze “%s” is in force until %s", g.Freeze.Reason, portal.FormatTime(g.Freeze.End, s.Zones.Display))}})
			if err := s.Store.RecordRefusal(ctx, rejection(e, CreateRoute, FieldErrors{"freeze": ""})); err != nil {
				return CreatePlan{}, nil, err
			}
			return CreatePlan{}, nil, requests.Frozen(g, s.Zones.Display)
		}
	}
	var plan CreatePlan
	if len(errs) == 0 {
		primary, standby, err := s.checkWithCloud(ctx, f, errs)
		if err != nil {
			s.auditFailure(ctx, f, err, "checking the request with the cloud")
			return CreatePlan{}, nil, cloudError(err, "The request could not be checked with the cloud")
		}
		plan = CreatePlan{
			Params: portal.CreateSpec{Name: f.Name, DRType: f.DRType, PrimaryClusterID: primary.ID, StandbyClusterID: standby.ID,
				SyncPeriod: f.SyncPeriod, PrimaryOBSBucket: f.PrimaryOBSBucket, StandbyOBSBucket: f.StandbyOBSBucket},
			PrimaryName: primary.Name, StandbyName: standby.Name,
			Primary: portal.ClusterRef{ID: primary.ID, Name: primary.Name, AZ: primary.AZ, Version: primary.Version},
			Standby: portal.ClusterRef{ID: standby.ID, Name: standby.Name, AZ: standby.AZ, Version: standby.Version},
		}
		plan.Method, plan.Path = s.Cloud.CreateCall()
		plan.Body = dws.CreateBody(plan.Params)
	}
	if len(errs) > 0 {
		e := audit.FromContext(ctx, audit.ActionCreateRejected, audit.Denied)
		e.OccurredAt = s.Now()
		e.Detail = audit.Detail(map[string]any{"form": rejectedFormDetail(f), "errors": errs.Recorded()})
		if err := s.Store.RecordRefusal(ctx, rejection(e, CreateRoute, errs)); err != nil {
			return CreatePlan{}, nil, err
		}
		return CreatePlan{}, errs, nil
	}
	return plan, nil, nil
}

// CheckCreate re-checks a create's preconditions right before it is sent:
// the name is still free and both clusters are still eligible. It returns
// the problems found; an error means the cloud could not be asked.
func (s *Service) CheckCreate(ctx context.Context, p portal.CreateSpec) ([]string, error) {
	errs := FieldErrors{}
	_, _, err := s.checkWithCloud(ctx, CreateForm{Name: p.Name, DRType: p.DRType, PrimaryClusterID: p.PrimaryClusterID,
		StandbyClusterID: p.StandbyClusterID, SyncPeriod: p.SyncPeriod}, errs)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, field := range []string{FieldName, FieldPrimaryClusterID, FieldStandbyClusterID} {
		if msg := errs[field]; msg != "" {
			out = append(out, msg)
		}
	}
	return out, nil
}

// checkWithCloud re-checks what only the cloud knows: the name is free, the
// primary is usable and the standby is eligible for it. Problems go into
// errs; a returned error means the cloud could not be asked.
func (s *Service) checkWithCloud(ctx context.Context, f CreateForm, errs FieldErrors) (primary, standby dws.Cluster, err error) {
	cctx, cancel := s.pageCtx(ctx)
	defer cancel()
	clusters, err := s.Cloud.ListClusters(cctx)
	if err != nil {
		return primary, standby, err
	}
	var okP, okS bool
	for _, c := range clusters {
		if strings.EqualFold(c.ID, f.PrimaryClusterID) {
			primary, okP = c, true
		}
		if strings.EqualFold(c.ID, f.StandbyClusterID) {
			standby, okS = c, true
		}
	}
	switch {
	case !okP:
		errs[FieldPrimaryClusterID] = "The primary cluster does not exist (any more); choose one from the list."
	case primaryRefusal(primary) != "":
		errs[FieldPrimaryClusterID] = fmt.Sprintf("Cluster %s cannot be a primary (%s); it must be Available, not busy, and run kernel %s or later.",
			primary.Name, primaryRefusal(primary), MinDRVersion)
	}
	if !okS {
		errs[FieldStandbyClusterID] = "The standby cluster does not exist (any more); choose one from the list."
	}
	if okP && okS && primaryRefusal(primary) == "" {
		eligible, err := s.standbysFor(cctx, primary, clusters)
		if err != nil {
			return primary, standby, err
		}
		if !slices.ContainsFunc(eligible, func(c dws.Cluster) bool { return strings.EqualFold(c.ID, standby.ID) }) {
			errs[FieldStandbyClusterID] = fmt.Sprintf("Cluster %s is not eligible as a standby for %s; choose one the list offers for this primary.", standby.Name, primary.Name)
		}
	}
	free, err := s.Cloud.CheckName(cctx, f.Name)
	if err != nil {
		return primary, standby, err
	}
	if !free {
		errs[FieldName] = fmt.Sprintf("A DR task named %q already exists (names are compared ignoring case).", f.Name)
	}
	return primary, standby, nil
}

func (s *Service) auditFailure(ctx context.Context, f CreateForm, cause error, during string) {
	e := audit.FromContext(ctx, audit.ActionCreateFailed, audit.Failure)
	e.OccurredAt = s.Now()
	d := map[string]any{"form": formDetail(f), "during": during, "error": cause.Error()}
	if ce, ok := dws.AsError(cause); ok {
		maps.Copy(d, ce.Fields())
		if ce.StatusCode == 0 {
			e.Outcome = audit.Error
		}
	}
	e.Detail = audit.Detail(d)
	if _, err := s.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil && s.Logger != nil {
		s.Logger.Error("audit create failure", "err", err)
	}
}

func formDetail(f CreateForm) map[string]string {
	return map[string]string{FieldName: f.Name, FieldDRType: f.DRType, FieldPrimaryClusterID: f.PrimaryClusterID,
		FieldStandbyClusterID: f.StandbyClusterID, FieldSyncPeriod: f.SyncPeriod,
		FieldPrimaryOBSBucket: f.PrimaryOBSBucket, FieldStandbyOBSBucket: f.StandbyOBSBucket,
		FieldJustification: f.Justification}
}

// rejectedFormDetail is what the event of a create form that was not filed
// keeps of it: each typed text cut to audit.MaxRefusalText characters, as
// for every refused form (a form is often refused for text too long).
func rejectedFormDetail(f CreateForm) map[string]string {
	d := formDetail(f)
	for k, v := range d {
		d[k] = audit.Clip(v, audit.MaxRefusalText)
	}
	return d
}

// cloudError gives a cloud failure a kind and a message a person can act on.
func cloudError(err error, what string) error {
	ce, ok := dws.AsError(err)
	if !ok {
		return err
	}
	kind := apperr.Unavailable
	switch ce.Kind {
	case dws.KindInvalid, dws.KindNotFound, dws.KindBusy, dws.KindIneligible, dws.KindConflict, dws.KindForbidden:
		kind = apperr.Conflict
	}
	return apperr.Wrap(kind, err, "%s: %s", what, CloudMessage(ce))
}

// CloudMessage describes a cloud error for a person: what happened, the
// API's code and message, and the request id for a support ticket.
func CloudMessage(ce *dws.Error) string {
	var b strings.Builder
	switch {
	case ce.StatusCode == 0 && errors.Is(ce.Err, context.DeadlineExceeded):
		b.WriteString("the DWS API did not answer in time")
	case ce.StatusCode == 0:
		b.WriteString("the DWS API could not be reached")
	case ce.Kind == dws.KindUnreadable:
		fmt.Fprintf(&b, "the DWS API answered %d but its answer could not be read", ce.StatusCode)
	case ce.Kind == dws.KindAuth:
		fmt.Fprintf(&b, "the DWS API refused the portal's credentials (HTTP %d); check DWS_AK, DWS_SK and the server clock", ce.StatusCode)
	case ce.Kind == dws.KindBadConfig:
		fmt.Fprintf(&b, "configuration error: the DWS API answered HTTP %d without a DWS error code, so the request never "+
			"reached DWS; the portal's DWS endpoint or region (DWS_ENDPOINT, DWS_REGION, DWS_PROJECT_ID) is probably wrong", ce.StatusCode)
	case ce.Kind == dws.KindThrottled:
		fmt.Fprintf(&b, "the DWS API is throttling requests (HTTP %d); try again in a minute", ce.StatusCode)
	case ce.Kind == dws.KindIneligible:
		fmt.Fprintf(&b, "the DWS API refused the cluster for good (HTTP %d): trying again will not help; choose another cluster", ce.StatusCode)
	default:
		fmt.Fprintf(&b, "the DWS API answered HTTP %d", ce.StatusCode)
	}
	if ce.Code != "" || ce.Message != "" {
		fmt.Fprintf(&b, " — %s %s", ce.Code, ce.Message)
	}
	if ce.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", ce.RequestID)
	}
	return b.String()
}

// ViewOf shapes a task row read along with other things (a request's
// page) as Status shapes the row it reads.
func ViewOf(row db.TaskRow) TaskView { return viewOf(row) }

// StateOf is StoredState for a view whose task's last succeeded operation
// was read along with it.
func StateOf(v TaskView, last portal.Operation) portal.TaskState { return stateOf(v, last) }
