package drtask

import (
	"strings"
	"testing"

	"drportal/internal/dws"
	"drportal/internal/portal"
)

func task(status, primary string) dws.Task {
	return dws.Task{ID: "t", Name: "dr1", Status: status, SyncPeriod: "5m", StartTime: "2026-11-22T10:00:00",
		Primary: dws.TaskCluster{ID: primary, Name: "name-" + primary, Status: "waiting"},
		Standby: dws.TaskCluster{ID: "other", Name: "name-other", LastSuccessTime: "2026-11-22T10:42:13"}}
}

func TestAllowedFollowsTheStatusTable(t *testing.T) {
	table := map[portal.Operation][]string{
		portal.OpStart:      {dws.StatusUnstart, dws.StatusStartFailed, dws.StatusStopped},
		portal.OpStop:       {dws.StatusRunning, dws.StatusStopFailed},
		portal.OpUpdate:     {dws.StatusUnstart, dws.StatusStopped},
		portal.OpSwitchover: {dws.StatusRunning},
		portal.OpDelete:     {dws.StatusCreateFailed, dws.StatusUnstart, dws.StatusStartFailed, dws.StatusStopped, dws.StatusStopFailed, dws.StatusAbnormal},
	}
	all := []string{dws.StatusCreating, dws.StatusCreateFailed, dws.StatusUnstart, dws.StatusStarting, dws.StatusStartFailed,
		dws.StatusRunning, dws.StatusStopping, dws.StatusStopped, dws.StatusStopFailed, dws.StatusSwitchovering,
		dws.StatusAbnormal, dws.StatusDeleting, "something_new"}
	for op, allowed := range table {
		for _, st := range all {
			ok, why := Allowed(op, State{Task: task(st, "p")})
			want := false
			for _, a := range allowed {
				want = want || a == st
			}
			if ok != want {
				t.Errorf("%s from %s: %v (%s), want %v", op, st, ok, why, want)
			}
			if !ok && why == "" {
				t.Errorf("%s from %s refused without a reason", op, st)
			}
		}
	}
	if ok, _ := Allowed(portal.OpFailover, State{Task: task(dws.StatusAbnormal, "p")}); !ok {
		t.Error("failover from abnormal refused")
	}
	if ok, _ := Allowed(portal.OpFailover, State{Task: task(dws.StatusRunning, "p")}); ok {
		t.Error("failover of a healthy running task allowed")
	}
	faulty := task(dws.StatusRunning, "p")
	faulty.Primary.Status = "abnormal"
	if ok, _ := Allowed(portal.OpFailover, State{Task: faulty}); !ok {
		t.Error("failover with a faulty primary refused")
	}
	if ok, _ := Allowed(portal.OpRecovery, State{Task: task(dws.StatusAbnormal, "p")}); ok {
		t.Error("recovery without a failover allowed")
	}
	if ok, _ := Allowed(portal.OpRecovery, State{Task: task(dws.StatusAbnormal, "p"), LastSucceededOp: portal.OpFailover}); !ok {
		t.Error("recovery after a failover refused")
	}
}

func TestJudgeNeedsTheOperationToTakeEffect(t *testing.T) {
	pre := Observation{PreStatus: dws.StatusRunning, PrePrimaryID: "p", PreStartTime: "2026-11-22T10:00:00"}
	// The switchover pitfall: running before and after.
	if o, _ := Judge(portal.OpSwitchover, task(dws.StatusRunning, "p"), false, pre); o != Pending {
		t.Error("a switchover counted done before it was seen to happen")
	}
	if o, _ := Judge(portal.OpSwitchover, task(dws.StatusSwitchovering, "p"), false, pre); o != Pending {
		t.Error("a switchover counted done while switchovering")
	}
	seen := pre
	seen.SeenTransient = true
	if o, _ := Judge(portal.OpSwitchover, task(dws.StatusRunning, "p"), false, seen); o != Succeeded {
		t.Error("a switchover seen switchovering and running again is not done")
	}
	if o, _ := Judge(portal.OpSwitchover, task(dws.StatusRunning, "other"), false, pre); o != Succeeded {
		t.Error("a switchover with the primary changed is not done")
	}
	if o, _ := Judge(portal.OpSwitchover, task(dws.StatusAbnormal, "p"), false, seen); o != Failed {
		t.Error("a switchover ending abnormal is not failed")
	}

	stopped := Observation{PreStatus: dws.StatusStopped, PrePrimaryID: "p"}
	if o, _ := Judge(portal.OpStart, task(dws.StatusStopped, "p"), false, stopped); o != Pending {
		t.Error("start done while still stopped (acceptance lag)")
	}
	if o, _ := Judge(portal.OpStart, task(dws.StatusRunning, "p"), false, stopped); o != Succeeded {
		t.Error("start not done at running")
	}
	if o, _ := Judge(portal.OpStart, task(dws.StatusStartFailed, "p"), false, stopped); o != Failed {
		t.Error("start_failed not a failure")
	}
	if o, _ := Judge(portal.OpStop, task(dws.StatusStopped, "p"), false, pre); o != Succeeded {
		t.Error("stop not done at stopped")
	}

	abn := Observation{PreStatus: dws.StatusAbnormal, PrePrimaryID: "p"}
	if o, _ := Judge(portal.OpFailover, task(dws.StatusAbnormal, "p"), false, abn); o != Pending {
		t.Error("failover done with the roles unchanged")
	}
	if o, _ := Judge(portal.OpFailover, task(dws.StatusAbnormal, "other"), false, abn); o != Succeeded {
		t.Error("failover with the standby promoted is not done")
	}
	abnSeen := abn
	abnSeen.SeenTransient = true
	if o, _ := Judge(portal.OpFailover, task(dws.StatusAbnormal, "p"), false, abnSeen); o != Failed {
		t.Error("failover that ran and left the roles unchanged is not failed")
	}
	if o, _ := Judge(portal.OpRecovery, task(dws.StatusRunning, "other"), false, Observation{PreStatus: dws.StatusAbnormal, PrePrimaryID: "other"}); o != Succeeded {
		t.Error("recovery not done at running")
	}

	if o, _ := Judge(portal.OpDelete, dws.Task{}, true, stopped); o != Succeeded {
		t.Error("delete not done when the task is gone")
	}
	if o, _ := Judge(portal.OpDelete, task(dws.StatusDeleting, "p"), false, stopped); o != Pending {
		t.Error("delete done while deleting")
	}
	delSeen := stopped
	delSeen.SeenTransient = true
	if o, _ := Judge(portal.OpDelete, task(dws.StatusStopped, "p"), false, delSeen); o != Failed {
		t.Error("a delete that fell back is not failed")
	}
	if o, _ := Judge(portal.OpStop, dws.Task{}, true, pre); o != Failed {
		t.Error("a task gone during a stop is not a failure")
	}
}

func TestConsequenceUsesLiveData(t *testing.T) {
	tk := task(dws.StatusAbnormal, "p")
	fo := Consequence(portal.OpFailover, tk, &dws.Progress{RPOSeconds: 90}, "")
	for _, want := range []string{"name-other", "name-p", "discards changes", "2026-11-22 10:42:13", "1m30s"} {
		if !strings.Contains(fo, want) {
			t.Errorf("failover consequence %q lacks %q", fo, want)
		}
	}
	if rc := Consequence(portal.OpRecovery, tk, nil, ""); !strings.Contains(rc, "erases all data on cluster name-other") {
		t.Errorf("recovery consequence %q", rc)
	}
	if up := Consequence(portal.OpUpdate, tk, nil, "10m"); !strings.Contains(up, "from 5m to 10m") {
		t.Errorf("update consequence %q", up)
	}
	if ConfirmCluster(portal.OpRecovery, tk) != "name-other" || ConfirmCluster(portal.OpFailover, tk) != "name-p" || ConfirmCluster(portal.OpStart, tk) != "" {
		t.Error("confirmation names")
	}
	for _, s := range Specs {
		if Consequence(s.Op, tk, nil, "10m") == "" {
			t.Errorf("no consequence for %s", s.Op)
		}
	}
}
