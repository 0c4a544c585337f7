package dws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	dwssdk "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dws/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dws/v2/model"
)

// Operations on an existing DR task, by the portal's names. The API calls
// stop "pause".
const (
	OpStart      = "start"
	OpStop       = "stop"
	OpSwitchover = "switchover"
	OpFailover   = "failover"
	OpRecovery   = "recovery"
	OpUpdate     = "update"
	OpDelete     = "delete"
)

// OperationCall returns the method and path an operation on task id is
// sent to.
func (c *Client) OperationCall(op, id string) (method, path string, err error) {
	base := "/v2/" + c.cfg.ProjectID + "/disaster-recovery/" + id
	switch op {
	case OpStart:
		return http.MethodPost, base + "/start", nil
	case OpStop:
		return http.MethodPost, base + "/pause", nil
	case OpSwitchover:
		return http.MethodPost, base + "/switchover", nil
	case OpFailover:
		return http.MethodPost, base + "/failover", nil
	case OpRecovery:
		return http.MethodPost, base + "/recovery", nil
	case OpUpdate:
		return http.MethodPut, base, nil
	case OpDelete:
		return http.MethodDelete, base, nil
	}
	return "", "", fmt.Errorf("unknown operation %q", op)
}

// UpdateBody returns the exact bytes the SDK sends to change a task's sync
// period (the only field the portal changes).
func UpdateBody(period string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(updateModel(period))
	return buf.Bytes()
}

// ParseUpdateBody reads the sync period back from an update body, refusing
// anything UpdateBody would not have produced.
func ParseUpdateBody(b []byte) (string, error) {
	var req model.UpdateDisasterRecoveryRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.DisasterRecovery == nil || req.DisasterRecovery.DrSyncPeriod == nil {
		return "", fmt.Errorf("update body is not a sync period change: %v", err)
	}
	period := *req.DisasterRecovery.DrSyncPeriod
	if !bytes.Equal(UpdateBody(period), b) {
		return "", fmt.Errorf("update body has fields the portal does not send")
	}
	return period, nil
}

func updateModel(period string) *model.UpdateDisasterRecoveryRequest {
	return &model.UpdateDisasterRecoveryRequest{DisasterRecovery: &model.UpdateDisasterRecoveryReq{DrSyncPeriod: &period}}
}

// Operate sends an operation on task id. body is the update's body (see
// UpdateBody) and empty for the others, which carry none. Like Create it is
// never retried here: after an ambiguous outcome the caller re-reads the
// task before deciding to send again.
func (c *Client) Operate(ctx context.Context, op, id string, body []byte) error {
	opName := op + " DR task " + id
	return c.call(ctx, opName, op, id, false, nil, func(cl *dwssdk.DwsClient) error {
		var err error
		switch op {
		case OpStart:
			_, err = cl.StartDisasterRecovery(&model.StartDisasterRecoveryRequest{DisasterRecoveryId: id})
		case OpStop:
			_, err = cl.PauseDisasterRecovery(&model.PauseDisasterRecoveryRequest{DisasterRecoveryId: id})
		case OpSwitchover:
			_, err = cl.SwitchoverDisasterRecovery(&model.SwitchoverDisasterRecoveryRequest{DisasterRecoveryId: id})
		case OpFailover:
			_, err = cl.SwitchFailoverDisaster(&model.SwitchFailoverDisasterRequest{DisasterRecoveryId: id})
		case OpRecovery:
			_, err = cl.RestoreDisaster(&model.RestoreDisasterRequest{DisasterRecoveryId: id})
		case OpDelete:
			_, err = cl.DeleteDisasterRecovery(&model.DeleteDisasterRecoveryRequest{DisasterRecoveryId: id})
		case OpUpdate:
			period, perr := ParseUpdateBody(body)
			if perr != nil {
				return &Error{Op: opName, Kind: KindInvalid, Message: perr.Error()}
			}
			_, err = cl.UpdateDisasterInfo(&model.UpdateDisasterInfoRequest{DisasterRecoveryId: id, Body: updateModel(period)})
		default:
			return &Error{Op: opName, Kind: KindInvalid, Message: "unknown operation"}
		}
		return err
	})
}

// Progress is the sync progress of a running task (show-progress).
type Progress struct {
	// RPO and RTO in seconds ("for reference only", says the API).
	RPOSeconds        int64
	RTOSeconds        int64
	LastRecoverySpend int64
	LatestBarrierTime string
	PrimaryAction     string // Backup / Restore
	StandbyAction     string
	UnrestoredKeys    string
	Raw               json.RawMessage
}

// Progress reads a task's progress figures.
func (c *Client) Progress(ctx context.Context, id string) (Progress, error) {
	var p Progress
	err := c.call(ctx, "show progress of DR task "+id, "progress", id, true, nil, func(cl *dwssdk.DwsClient) error {
		resp, err := cl.ShowDisasterProgress(&model.ShowDisasterProgressRequest{DisasterRecoveryId: id})
		if err != nil {
			return err
		}
		m := resp.DisasterRecoveryProgress
		if m == nil {
			return &Error{Op: "show progress", Kind: KindUnreadable, StatusCode: resp.HttpStatusCode}
		}
		raw, _ := json.Marshal(m)
		p = Progress{LatestBarrierTime: str(m.LatestBarrierTime), Raw: raw}
		if m.RecoveryPointObject != nil {
			p.RPOSeconds = *m.RecoveryPointObject
		}
		if m.RecoveryTimeObject != nil {
			p.RTOSeconds = *m.RecoveryTimeObject
		}
		if m.LastRecoverySpend != nil {
			p.LastRecoverySpend = *m.LastRecoverySpend
		}
		if m.PrimaryCluster != nil {
			p.PrimaryAction = str(m.PrimaryCluster.ActionType)
		}
		if m.StandbyCluster != nil {
			p.StandbyAction, p.UnrestoredKeys = str(m.StandbyCluster.ActionType), str(m.StandbyCluster.UnrestoreKeys)
		}
		return nil
	})
	return p, err
}
