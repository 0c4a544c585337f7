package dws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/def"
	dwssdk "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dws/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dws/v2/model"

	"drportal/internal/portal"
)

// requestDefs are the SDK's own definitions of the calls the portal makes:
// what approvers are shown as "what will be sent" is what the SDK sends.
var requestDefs = map[portal.Operation]func() *def.HttpRequestDef{
	portal.OpCreate:     dwssdk.GenReqDefForCreateDisasterRecovery,
	portal.OpStart:      dwssdk.GenReqDefForStartDisasterRecovery,
	portal.OpStop:       dwssdk.GenReqDefForPauseDisasterRecovery,
	portal.OpSwitchover: dwssdk.GenReqDefForSwitchoverDisasterRecovery,
	portal.OpFailover:   dwssdk.GenReqDefForSwitchFailoverDisaster,
	portal.OpRecovery:   dwssdk.GenReqDefForRestoreDisaster,
	portal.OpUpdate:     dwssdk.GenReqDefForUpdateDisasterInfo,
	portal.OpDelete:     dwssdk.GenReqDefForDeleteDisasterRecovery,
	// A drill's two calls are switchovers (jobs sends them as such).
	portal.OpDrill: dwssdk.GenReqDefForSwitchoverDisasterRecovery,
}

// OperationCall returns the method and path an operation on task id (""
// for a create) is sent to, from the SDK's request definition with the
// project and task filled in.
func (c *Client) OperationCall(op portal.Operation, id string) (method, path string, err error) {
	gen, ok := requestDefs[op]
	if !ok {
		return "", "", fmt.Errorf("unknown operation %q", op)
	}
	d := gen()
	path = strings.NewReplacer("{project_id}", c.cfg.ProjectID, "{disaster_recovery_id}", id).Replace(d.Path)
	return d.Method, path, nil
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
func (c *Client) Operate(ctx context.Context, op portal.Operation, id string, body []byte) error {
	opName := string(op) + " DR task " + id
	var answer []byte
	return c.call(ctx, opName, string(op), id, false, nil, &answer, func(cl *dwssdk.DwsClient) error {
		err := c.operate(cl, op, id, body, opName)
		if err == nil && !answerConfirms(answer, id) {
			// Accepted with an answer that does not say so: the outcome is
			// unknown, and the executor reads the task before anything else.
			return &Error{Op: opName, Kind: KindUnreadable, StatusCode: 200}
		}
		return err
	})
}

// answerConfirms reports whether a 2xx answer to an operation on task id
// may be taken as accepted: it carries no error code, and the task it
// names, if any, is id.
func answerConfirms(answer []byte, id string) bool {
	if len(bytes.TrimSpace(answer)) == 0 {
		return true
	}
	var a struct {
		ErrorCode string `json:"error_code"`
		DR        *struct {
			ID *string `json:"id"`
		} `json:"disaster_recovery"`
	}
	if json.Unmarshal(answer, &a) != nil {
		return false
	}
	if a.ErrorCode != "" && a.ErrorCode != "DWS.0000" {
		return false
	}
	return a.DR == nil || a.DR.ID == nil || strings.EqualFold(*a.DR.ID, id)
}

// operate makes the SDK call of op.
func (c *Client) operate(cl *dwssdk.DwsClient, op portal.Operation, id string, body []byte, opName string) error {
	var err error
	switch op {
	case portal.OpStart:
		_, err = cl.StartDisasterRecovery(&model.StartDisasterRecoveryRequest{DisasterRecoveryId: id})
	case portal.OpStop:
		_, err = cl.PauseDisasterRecovery(&model.PauseDisasterRecoveryRequest{DisasterRecoveryId: id})
	case portal.OpSwitchover:
		_, err = cl.SwitchoverDisasterRecovery(&model.SwitchoverDisasterRecoveryRequest{DisasterRecoveryId: id})
	case portal.OpFailover:
		_, err = cl.SwitchFailoverDisaster(&model.SwitchFailoverDisasterRequest{DisasterRecoveryId: id})
	case portal.OpRecovery:
		_, err = cl.RestoreDisaster(&model.RestoreDisasterRequest{DisasterRecoveryId: id})
	case portal.OpDelete:
		_, err = cl.DeleteDisasterRecovery(&model.DeleteDisasterRecoveryRequest{DisasterRecoveryId: id})
	case portal.OpUpdate:
		period, perr := ParseUpdateBody(body)
		if perr != nil {
			return &Error{Op: opName, Kind: KindInvalid, Message: perr.Error()}
		}
		_, err = cl.UpdateDisasterInfo(&model.UpdateDisasterInfoRequest{DisasterRecoveryId: id, Body: updateModel(period)})
	default:
		return &Error{Op: opName, Kind: KindInvalid, Message: "unknown operation"}
	}
	return err
}

// Progress reads a task's progress figures.
func (c *Client) Progress(ctx context.Context, id string) (portal.Progress, error) {
	var p portal.Progress
	err := c.call(ctx, "show progress of DR task "+id, "progress", id, true, nil, nil, func(cl *dwssdk.DwsClient) error {
		resp, err := cl.ShowDisasterProgress(&model.ShowDisasterProgressRequest{DisasterRecoveryId: id})
		if err != nil {
			return err
		}
		m := resp.DisasterRecoveryProgress
		if m == nil {
			return &Error{Op: "show progress", Kind: KindUnreadable, StatusCode: resp.HttpStatusCode}
		}
		p = portal.Progress{LatestBarrierTime: str(m.LatestBarrierTime)}
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
