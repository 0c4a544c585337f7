package drtask

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/dws"
	"drportal/internal/portal"
)

// The create form's pickers read the portal's copy of the cloud's cluster
// list and of the standbys the cloud lists as eligible for each usable
// primary (SyncClusters keeps both, in the background); a page view never
// asks the cloud. Filing (PrepareCreate) checks everything with the cloud.

// ClusterOption is a cluster as a picker offers it.
type ClusterOption struct {
	ID       string
	Name     string
	AZ       string
	Version  string
	Nodes    int // 0 when the cluster list does not say
	Usable   bool
	Why      string // why it cannot be chosen, when not Usable, in the console's words
	Selected bool
}

// FormOptions is what the create form's pickers offer.
type FormOptions struct {
	// Primaries are the clusters that can be primaries first, then those
	// that cannot, each with the reason.
	Primaries []ClusterOption
	// Standbys are the clusters the API lists as eligible for the chosen
	// primary, in every other availability zone, then the other clusters
	// with the reason they are not.
	Standbys  []ClusterOption
	PrimaryID string // the primary the standbys are for ("" when none is chosen)
	// NoPair is one plain sentence when the cluster list leaves no possible
	// pair at all ("" otherwise).
	NoPair string
	// ListAt is when the cluster list was last read from the cloud (nil:
	// not yet); ListErr says why the last read failed, when it is newer.
	ListAt  *time.Time
	ListErr string
	// StandbysAt is when the chosen primary's standbys were last read (nil:
	// not yet); StandbysErr says why the last read failed, when it is newer.
	StandbysAt  *time.Time
	StandbysErr string
	// StandbyErr says, in words, why the cloud offered no standby for the
	// chosen primary; StandbyDetail is its code, message and request id.
	StandbyErr    string
	StandbyDetail string
}

// clusterOf is a cluster of the portal's copy.
func clusterOf(r db.ClusterRow) dws.Cluster {
	return dws.Cluster{ID: r.ID, Name: r.Name, Status: r.Status, SubStatus: r.SubStatus, Version: r.Version, AZ: r.AZ,
		VPCID: r.VPCID, TaskStatus: r.TaskStatus, Nodes: r.Nodes}
}

func rowOf(c dws.Cluster) db.ClusterRow {
	return db.ClusterRow{ID: c.ID, Name: c.Name, Status: c.Status, SubStatus: c.SubStatus, Version: c.Version, AZ: c.AZ,
		VPCID: c.VPCID, TaskStatus: c.TaskStatus, Nodes: c.Nodes}
}

// eligibility says why a cluster of the list cannot be a primary ("" when
// it can): its state or kernel, a DR task it is already in (as the
// portal's copy of the tasks has it: a cluster belongs to one DR task at a
// time), or no possible partner.
type eligibility struct {
	clusters []dws.Cluster
	inTask   map[string]string
}

func (s *Service) eligibility(ctx context.Context, clusters []dws.Cluster) (eligibility, error) {
	el := eligibility{clusters: clusters, inTask: map[string]string{}}
	rows, err := s.Store.ListTasks(ctx)
	if err != nil {
		return el, err
	}
	for _, r := range rows {
		if r.GoneAt == nil {
			el.inTask[strings.ToLower(r.PrimaryClusterID)] = r.Name
			el.inTask[strings.ToLower(r.StandbyClusterID)] = r.Name
		}
	}
	return el, nil
}

// own says why c cannot take part in a new task, from its own state.
func (el eligibility) own(c dws.Cluster) string {
	if why := primaryRefusal(c); why != "" {
		return why
	}
	if task, ok := el.inTask[strings.ToLower(c.ID)]; ok {
		return fmt.Sprintf("already in DR task %s", task)
	}
	return ""
}

// primary says why c cannot be a primary ("" when it can).
func (el eligibility) primary(c dws.Cluster) string {
	if why := el.own(c); why != "" {
		return why
	}
	if !slices.ContainsFunc(el.clusters, func(p dws.Cluster) bool { return el.own(p) == "" && pairable(c, p) == "" }) {
		return "no cluster it could pair with: none available in another AZ of its VPC on the same kernel"
	}
	return ""
}

// Options fills the create form's pickers from the portal's copy of the
// cluster list and of the standbys: it reads only the database. Nothing is
// chosen for the person: standbys are offered once primaryID names a
// primary, and standbyID is marked selected among them.
func (s *Service) Options(ctx context.Context, primaryID, standbyID string) (FormOptions, error) {
	var fo FormOptions
	var err error
	if fo.ListAt, err = s.Store.LastSync(ctx, db.SyncClusterList); err != nil {
		return fo, err
	}
	if msg, at, err := s.Store.LastSyncError(ctx, db.SyncClusterList); err != nil {
		return fo, err
	} else if at != nil {
		fo.ListErr = msg
	}
	rows, err := s.Store.Clusters(ctx)
	if err != nil {
		return fo, err
	}
	clusters := make([]dws.Cluster, 0, len(rows))
	for _, r := range rows {
		clusters = append(clusters, clusterOf(r))
	}
	el, err := s.eligibility(ctx, clusters)
	if err != nil {
		return fo, err
	}
	all, err := s.Store.StandbyCandidates(ctx)
	if err != nil {
		return fo, err
	}
	var usable, unusable []ClusterOption
	var primary *dws.Cluster
	for i, c := range clusters {
		o := optionOf(c)
		o.Why = el.primary(c)
		if cand := all[c.ID]; o.Why == "" && cand.Refusal != "" {
			// The cloud refused it as a primary when asked for its
			// standbys: its type or a lasting state, which the cluster
			// list does not show.
			o.Why = refusedPrimary(c, cand.RefusalDetail)
		}
		o.Usable = o.Why == ""
		if primaryID != "" && strings.EqualFold(c.ID, primaryID) {
			o.Selected = true
			primary = &clusters[i]
		}
		if o.Usable {
			usable = append(usable, o)
		} else {
			unusable = append(unusable, o)
		}
	}
	fo.Primaries = append(usable, unusable...)
	if len(usable) == 0 && len(clusters) > 0 {
		fo.NoPair = "No cluster pair is eligible for DR right now: every cluster is already in a DR task, busy, " +
			"not Available, on a kernel before " + MinDRVersion + ", or has no partner in another AZ of its VPC. Each reason is in the list."
	}
	if primary == nil {
		return fo, nil
	}
	fo.PrimaryID = primary.ID
	if why := el.primary(*primary); why != "" {
		fo.StandbyErr = fmt.Sprintf("Cluster %s cannot be a primary (%s); choose another primary.", primary.Name, why)
		return fo, nil
	}
	cand, read := all[primary.ID]
	fo.StandbysAt, fo.StandbysErr = cand.FetchedAt, cand.ReadError
	fo.StandbyErr, fo.StandbyDetail = cand.Refusal, cand.RefusalDetail
	known := read && cand.FetchedAt != nil
	var others []ClusterOption
	for _, c := range clusters {
		if c.ID == primary.ID {
			continue
		}
		o := optionOf(c)
		offered := slices.ContainsFunc(cand.Standbys, func(sb db.StandbyRef) bool { return sb.ID == c.ID })
		o.Why = cmp.Or(el.own(c), pairable(*primary, c))
		if offered && o.Why == "" {
			o.Usable, o.Selected = true, strings.EqualFold(c.ID, standbyID)
			fo.Standbys = append(fo.Standbys, o)
			continue
		}
		if o.Why == "" {
			if !known || cand.Refusal != "" {
				continue // not refused: the cloud has not said
			}
			o.Why = "not offered by DWS for this primary (storage-compute decoupled and encrypted clusters cannot take part in DR)"
		}
		others = append(others, o)
	}
	// A standby the API lists but the cluster list lacks still shows.
	for _, sb := range cand.Standbys {
		if !slices.ContainsFunc(clusters, func(c dws.Cluster) bool { return c.ID == sb.ID }) {
			o := ClusterOption{ID: sb.ID, Name: sb.Name, AZ: sb.AZ, Usable: true, Selected: strings.EqualFold(sb.ID, standbyID)}
			fo.Standbys = append(fo.Standbys, o)
		}
	}
	fo.Standbys = append(fo.Standbys, others...)
	return fo, nil
}

// refusedPrimary says in DWS's words why the cloud refused c as a DR
// primary, from the refusal it answered (detail: its code and message). DR
// supports only storage-compute coupled (DWS 2.0), unencrypted clusters.
func refusedPrimary(c dws.Cluster, detail string) string {
	switch {
	case strings.Contains(strings.ToLower(detail), "encrypt"):
		return "encrypted: DWS does not support DR for encrypted clusters"
	case strings.Contains(detail, "DWS.5005") && (c.Version == "" || compareVersions(c.Version, MinDRVersion) >= 0):
		return "storage-compute decoupled (DWS 3.0) or another type DR does not support: DWS accepts only storage-compute coupled clusters"
	case strings.Contains(detail, "DWS.5005"):
		return fmt.Sprintf("type or kernel not supported by DR (kernel %s; DR needs %s or later, storage-compute coupled)", c.Version, MinDRVersion)
	}
	return "refused by DWS as a DR primary in its current state (it may be encrypted, or in a DR task)"
}

// SyncClusters reads the cluster list from the cloud into the portal's
// copy, then the eligible standbys of the usable primaries whose last read
// is due (every StandbyEvery, and at once after the list changed), at most
// StandbyCalls calls a round: the rest wait for the next round. Failures
// are recorded in cloud_syncs for the form. It is the background sync's
// round, run by one job for all replicas, and once at start.
func (s *Service) SyncClusters(ctx context.Context) error {
	clusters, err := s.readClusters(ctx, nil)
	if err != nil {
		return err
	}
	return s.syncStandbys(ctx, clusters, "")
}

// ReadClustersNow is a person's "Read the clusters from the cloud now":
// the cluster list and, when primaryID names a usable primary, its
// standbys are read from the cloud into the copy, and the read is audited
// as the person's action. It is rate-limited across everyone and every
// replica: at most one every ReadNowInterval (default 15 s).
func (s *Service) ReadClustersNow(ctx context.Context, primaryID string) error {
	now := s.Now()
	interval := cmp.Or(s.ReadNowInterval, 15*time.Second)
	ok, last, err := s.Store.ClaimSyncRequest(ctx, db.SyncClusterList, now, interval)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.New(apperr.TooMany, "The clusters were read from the cloud at %s, on someone's request; you can ask again from %s.",
			portal.FormatTime(last, s.Zones.Display), portal.FormatTime(last.Add(interval), s.Zones.Display))
	}
	e := audit.FromContext(ctx, audit.ActionClustersRead, audit.Success)
	detail := map[string]any{}
	if primaryID != "" {
		detail["primary_cluster_id"] = primaryID
	}
	clusters, err := s.readClusters(ctx, func(tx *db.Tx, n int, cerr error) error {
		detail["clusters"] = n
		if cerr != nil {
			e.Outcome, detail["error"] = audit.Error, CloudDescription(cerr)
		}
		e.OccurredAt, e.Detail = s.Now(), audit.Detail(detail)
		_, err := tx.AppendAudit(ctx, e)
		return err
	})
	if err != nil {
		if _, ok := dws.AsError(err); ok {
			return nil // recorded and audited: the form says why
		}
		return err
	}
	if primaryID == "" {
		return nil
	}
	if err := s.syncStandbys(ctx, clusters, primaryID); err != nil {
		if _, ok := dws.AsError(err); !ok {
			return err
		}
		// Recorded on the primary's copy: the standby picker says why.
	}
	return nil
}

// readClusters reads the cluster list and records it, or why it could not
// be read. then, when set, runs in the transaction that records it (with
// the number of clusters read, or the cloud's error).
func (s *Service) readClusters(ctx context.Context, then func(tx *db.Tx, n int, cerr error) error) ([]dws.Cluster, error) {
	cctx, cancel := s.pageCtx(ctx)
	clusters, err := s.Cloud.ListClusters(cctx)
	cancel()
	now := s.Now()
	if err != nil {
		if rerr := s.Store.RecordSyncError(ctx, db.SyncClusterList, CloudDescription(err), now); rerr != nil {
			return nil, rerr
		}
		if then != nil {
			if rerr := s.Store.InTx(ctx, func(tx *db.Tx) error { return then(tx, 0, err) }); rerr != nil {
				return nil, rerr
			}
		}
		return nil, err
	}
	rows := make([]db.ClusterRow, 0, len(clusters))
	for _, c := range clusters {
		rows = append(rows, rowOf(c))
	}
	err = s.Store.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ReplaceClusters(ctx, rows, now); err != nil {
			return err
		}
		if then != nil {
			return then(tx, len(clusters), nil)
		}
		return nil
	})
	return clusters, err
}

// syncStandbys reads the eligible standbys of the usable primaries that
// are due (only: of that one primary, whether due or not).
func (s *Service) syncStandbys(ctx context.Context, clusters []dws.Cluster, only string) error {
	el, err := s.eligibility(ctx, clusters)
	if err != nil {
		return err
	}
	cands, err := s.Store.StandbyCandidates(ctx)
	if err != nil {
		return err
	}
	budget := cmp.Or(s.StandbyCalls, 20)
	every := cmp.Or(s.StandbyEvery, 5*time.Minute)
	spent, failed := 0, 0
	var first error
	for _, p := range clusters {
		if el.primary(p) != "" {
			continue
		}
		if only != "" && !strings.EqualFold(p.ID, only) {
			continue
		}
		if c, ok := cands[p.ID]; only == "" && ok && c.NextReadAt.After(s.Now()) {
			continue
		}
		calls := len(otherZones(p, clusters))
		if only == "" && spent > 0 && spent+calls > budget {
			break // the rest next round
		}
		spent += calls
		cctx, cancel := s.pageCtx(ctx)
		standbys, err := s.standbysFor(cctx, p, clusters)
		cancel()
		now := s.Now()
		if err != nil && !refusesPrimary(err) {
			failed++
			first = cmp.Or(first, err)
			if rerr := s.Store.RecordStandbysError(ctx, p.ID, CloudDescription(err), now, now.Add(time.Minute)); rerr != nil {
				return rerr
			}
			if rerr := s.Store.RecordSyncError(ctx, db.SyncStandbys, CloudDescription(err), now); rerr != nil {
				return rerr
			}
			continue
		}
		var refusal, detail string
		next := now.Add(every)
		if err != nil {
			// A refusal is the primary's type or state: asked again far
			// less often (and at once when the cluster list changes).
			refusal, detail = standbyRefusal(err)
			next = now.Add(6 * every)
		}
		refs := make([]db.StandbyRef, 0, len(standbys))
		for _, sb := range standbys {
			refs = append(refs, db.StandbyRef{ID: sb.ID, Name: sb.Name, AZ: sb.AZ})
		}
		if err := s.Store.InTx(ctx, func(tx *db.Tx) error {
			return tx.RecordStandbys(ctx, p.ID, refs, refusal, detail, now, next)
		}); err != nil {
			return err
		}
	}
	if spent > 0 && failed == 0 {
		if err := s.Store.RecordSyncSuccess(ctx, db.SyncStandbys, s.Now()); err != nil {
			return err
		}
	}
	return first
}

// refusesPrimary reports whether err is the cloud's answer that the
// primary cannot take part in DR (an answer to keep, not a failed read).
func refusesPrimary(err error) bool {
	ce, ok := dws.AsError(err)
	return ok && (ce.Code == "DWS.5005" || ce.Code == "DWS.7023" || ce.Kind == dws.KindIneligible || ce.Kind == dws.KindBusy)
}

// otherZones are the availability zones of the list other than primary's,
// sorted: one standby read each.
func otherZones(primary dws.Cluster, clusters []dws.Cluster) []string {
	var zones []string
	for _, c := range clusters {
		if c.AZ != "" && c.AZ != primary.AZ && !slices.Contains(zones, c.AZ) {
			zones = append(zones, c.AZ)
		}
	}
	slices.Sort(zones)
	return zones
}
