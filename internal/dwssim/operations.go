package dwssim

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"
)

// allowedFrom lists the task statuses each operation is allowed from
// (docs/dws-dr-api.md §4). Failover from running and recovery have further
// conditions, checked in refusal.
var allowedFrom = map[string][]string{
	RouteUpdate:     {StatusUnstart, StatusStopped},
	RouteStart:      {StatusUnstart, StatusStartFailed, StatusStopped},
	RoutePause:      {StatusRunning, StatusStopFailed},
	RouteSwitchover: {StatusRunning},
	RouteFailover:   {StatusAbnormal, StatusRunning},
	RouteRecovery:   {StatusAbnormal},
	RouteDelete: {StatusCreateFailed, StatusUnstart, StatusStartFailed, StatusStopped,
		StatusStopFailed, StatusAbnormal},
}

// minFailoverVersion is the cluster version failover and recovery need.
const minFailoverVersion = "8.1.2"

// refusal says why op may not run on t now: 400 DWS.5005 for a cluster
// version below 8.1.2 (failover and recovery), otherwise 403 DWS.7023.
//
// Simulator choices where the API is silent: an operation still in its
// acceptance lag makes the task busy, so every other operation is refused;
// start and switchover need both clusters healthy (a switchover away from
// a faulty production cluster is what failover is for); failover refuses
// to promote a faulty standby; recovery needs both clusters healthy.
func (p *project) refusal(t *task, op string) *apiError {
	if op == RouteFailover || op == RouteRecovery {
		for _, id := range []string{t.primaryID, t.standbyID} {
			if c := p.clusterByID(id); c != nil && compareVersions(c.Version, minFailoverVersion) < 0 {
				return errTypeOrVersion
			}
		}
	}
	if t.op != nil || !slices.Contains(allowedFrom[op], t.status) {
		return errState
	}
	primaryFaulty, standbyFaulty := p.faulty(t.primaryID), p.faulty(t.standbyID)
	switch op {
	case RouteStart, RouteSwitchover:
		if primaryFaulty || standbyFaulty {
			return errState
		}
	case RouteFailover:
		if (t.status == StatusRunning && !primaryFaulty) || standbyFaulty {
			return errState
		}
	case RouteRecovery:
		if !t.failedOver || primaryFaulty || standbyFaulty {
			return errState
		}
	}
	return nil
}

// operation serves the asynchronous actions (start, pause, switchover,
// failover, recovery, delete): check, accept, answer with the task ID. The
// work happens later, from the clock. Any request body is ignored.
func (s *Simulator) operation(op string) handler {
	return func(c *call) (any, error) {
		p := c.project
		t := p.task(c.r.PathValue("id"))
		if t == nil {
			return nil, errNoSuchTask
		}
		if err := p.refusal(t, op); err != nil {
			return nil, err
		}
		p.accept(t, op, c.now, s.takeFailure(op))
		return taskIDResponse{DisasterRecovery: idJSON{ID: t.id}}, nil
	}
}

// updateRequest is UpdateDisasterRecoveryRequest (§2.4). Only
// dr_sync_period has an effect; the other fields look like operator repair
// knobs and are accepted and ignored (§9.8), as are unknown fields.
type updateRequest struct {
	DisasterRecovery *struct {
		DRSyncPeriod  *string `json:"dr_sync_period"`
		SendRequest   *int    `json:"send_request"`
		PrimaryToRole *string `json:"primary_to_role"`
		StandbyToRole *string `json:"standby_to_role"`
		ResetAction   *string `json:"reset_action"`
		DRStatus      *string `json:"dr_status"`
	} `json:"disaster_recovery"`
}

// update answers UpdateDisasterInfo. It is synchronous: the period is
// stored at once (and echoed by detail) and the sync cycles use it from the
// next start. Checks run in the order existence, body, period, status.
func (s *Simulator) update(c *call) (any, error) {
	p := c.project
	t := p.task(c.r.PathValue("id"))
	if t == nil {
		return nil, errNoSuchTask
	}
	var req updateRequest
	if len(bytes.TrimSpace(c.body)) > 0 { // the whole object is optional
		if err := jsonBody(c.r); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(c.body, &req); err != nil {
			return nil, invalidFormat("The request body is not valid JSON.")
		}
	}
	var period *string
	if req.DisasterRecovery != nil {
		period = req.DisasterRecovery.DRSyncPeriod
	}
	if period != nil {
		if err := validatePeriod(*period); err != nil {
			return nil, err
		}
	}
	if err := p.refusal(t, RouteUpdate); err != nil {
		return nil, err
	}
	if period != nil {
		t.period = *period
	}
	return taskIDResponse{DisasterRecovery: idJSON{ID: t.id}}, nil
}

// progressJSON is ClusterDisasterRecovery (§2.5).
type progressJSON struct {
	PrimaryCluster      clusterProgressJSON `json:"primary_cluster"`
	StandbyCluster      clusterProgressJSON `json:"standby_cluster"`
	LatestBarrierTime   *string             `json:"latest_barrier_time"`
	LastRecoverySpend   int64               `json:"last_recovery_spend"`
	RecoveryPointObject int64               `json:"recovery_point_object"`
	RecoveryTimeObject  int64               `json:"recovery_time_object"`
}

// clusterProgressJSON is ClusterRecoveryProgress.
type clusterProgressJSON struct {
	Key             *string `json:"key"`
	ActionType      string  `json:"action_type"`
	UnrestoreKeys   string  `json:"unrestore_keys"`
	ActionStartTime *string `json:"action_start_time"`
	ActionEndTime   *string `json:"action_end_time"`
}

// progress answers ShowDisasterProgress.
func (s *Simulator) progress(c *call) (any, error) {
	t := c.project.task(c.r.PathValue("id"))
	if t == nil {
		return nil, errNoSuchTask
	}
	return struct {
		Progress progressJSON `json:"disaster_recovery_progress"`
	}{c.project.progress(t, c.now)}, nil
}

// progress computes the figures at now, all in whole seconds:
//   - the backup/restore action is the cycle under way, or else the last
//     completed one (action_end_time null while it runs; key null when
//     there has been none); the standby has one unrestored key while a
//     cycle restores;
//   - latest_barrier_time is the last consistent point, last_success_time;
//   - last_recovery_spend is how long the last completed restore took;
//   - RPO is the time since last_success_time, or since start_time when
//     never synced, or since create_time when never started;
//   - RTO is the failover duration plus what is left of a restore under
//     way.
func (p *project) progress(t *task, now time.Time) progressJSON {
	out := progressJSON{
		PrimaryCluster:    clusterProgressJSON{ActionType: "Backup", UnrestoreKeys: "0"},
		StandbyCluster:    clusterProgressJSON{ActionType: "Restore", UnrestoreKeys: "0"},
		LatestBarrierTime: formatDRTime(t.lastSync),
	}
	w, pct, active := t.activeCycle(now)
	if !active {
		w = t.lastBackup
	}
	if w.key != "" {
		for _, cp := range []*clusterProgressJSON{&out.PrimaryCluster, &out.StandbyCluster} {
			key := w.key
			cp.Key, cp.ActionStartTime, cp.ActionEndTime = &key, formatDRTime(w.start), formatDRTime(w.end)
		}
	}
	rto := p.tm.phases.Failover
	if active {
		out.StandbyCluster.UnrestoreKeys = "1"
		rto += t.cycleLen / 2 * time.Duration(100-pct) / 100
	}
	if b := t.lastBackup; !b.end.IsZero() {
		out.LastRecoverySpend = ceilSeconds(b.end.Sub(b.start))
	}
	anchor := t.lastSync
	if anchor.IsZero() {
		anchor = t.started
	}
	if anchor.IsZero() {
		anchor = t.created
	}
	out.RecoveryPointObject = max(0, int64(now.Sub(anchor)/time.Second))
	out.RecoveryTimeObject = ceilSeconds(rto)
	return out
}

func ceilSeconds(d time.Duration) int64 {
	return int64((max(d, 0) + time.Second - 1) / time.Second)
}
