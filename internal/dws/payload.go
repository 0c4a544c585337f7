package dws

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dws/v2/model"

	"drportal/internal/portal"
)

// CreateCall returns the method and path a create call is sent to, from
// the SDK's request definition.
func (c *Client) CreateCall() (method, path string) {
	m, p, _ := c.OperationCall(portal.OpCreate, "")
	return m, p
}

// CreateBody returns the exact bytes the SDK sends for a create: its model
// encoded by encoding/json without HTML escaping, with the trailing newline
// json.Encoder writes. A request stores these bytes, approvers see them, and
// the executor's audited attempt carries the same bytes.
func CreateBody(p portal.CreateSpec) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(createModel(p)) // a struct of strings always encodes
	return buf.Bytes()
}

// ParseCreateBody reads a create body back into its parameters, refusing
// anything CreateBody would not have produced.
func ParseCreateBody(b []byte) (portal.CreateSpec, error) {
	var req model.CreateDisasterRecoveryReq
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.DisasterRecovery == nil {
		return portal.CreateSpec{}, fmt.Errorf("create body is not a create request: %v", err)
	}
	d := req.DisasterRecovery
	p := portal.CreateSpec{Name: d.Name, DRType: d.DrType, PrimaryClusterID: d.PrimaryClusterId,
		StandbyClusterID: d.StandbyClusterId, SyncPeriod: d.DrSyncPeriod,
		PrimaryOBSBucket: str(d.PrimaryObsBucket), StandbyOBSBucket: str(d.StandbyObsBucket)}
	if !bytes.Equal(CreateBody(p), b) {
		return portal.CreateSpec{}, fmt.Errorf("create body has fields the portal does not send")
	}
	return p, nil
}

func createModel(p portal.CreateSpec) *model.CreateDisasterRecoveryReq {
	return &model.CreateDisasterRecoveryReq{DisasterRecovery: &model.CreateDisasterRecovery{
		Name: p.Name, DrType: p.DRType, PrimaryClusterId: p.PrimaryClusterID, StandbyClusterId: p.StandbyClusterID,
		DrSyncPeriod: p.SyncPeriod, PrimaryObsBucket: optional(p.PrimaryOBSBucket), StandbyObsBucket: optional(p.StandbyOBSBucket)}}
}
