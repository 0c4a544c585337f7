// Package dws is the portal's client of the GaussDB(DWS) disaster-recovery
// API. It wraps the official Go SDK (services/dws/v2), turns its models into
// domain types and its errors into *Error, retries safe calls on transient
// failures, and reports every HTTP attempt through AttemptRecorder. It knows
// nothing of HTTP handlers, SQL or the audit log.
package dws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	dwssdk "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dws/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dws/v2/model"

	"drportal/internal/portal"
)

// Config configures a Client.
type Config struct {
	Endpoint  string // base URL, e.g. https://dws.cn-north-4.myhuaweicloud.com
	ProjectID string
	AK, SK    string
	// Recorder receives every HTTP attempt; nil records nothing.
	Recorder AttemptRecorder
	// AttemptTimeout bounds one HTTP attempt (default 30 s); the caller's
	// context deadline bounds the whole call.
	AttemptTimeout time.Duration
	// MaxAttempts bounds the attempts of a retried read (default 3).
	MaxAttempts int
	// BaseBackoff is the first retry delay before jitter (default 300 ms).
	BaseBackoff time.Duration
	// Transport is the HTTP transport (default: a clone of http.DefaultTransport).
	Transport http.RoundTripper
	UserAgent string
	Now       func() time.Time
}

// Client calls the DWS DR API. It is safe for concurrent use.
type Client struct {
	cfg  Config
	cred *basic.Credentials
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Endpoint == "" || cfg.ProjectID == "" || cfg.AK == "" || cfg.SK == "" {
		return nil, errors.New("dws client: endpoint, project id, AK and SK are required")
	}
	cfg.Endpoint = strings.TrimSuffix(cfg.Endpoint, "/")
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 30 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 300 * time.Millisecond
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if cfg.UserAgent == "" {
		// Setting one also stops the SDK from writing an app id to ~/.huaweicloud.
		cfg.UserAgent = "dr-portal/1.0"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cred, err := basic.NewCredentialsBuilder().WithAk(cfg.AK).WithSk(cfg.SK).WithProjectId(cfg.ProjectID).SafeBuild()
	if err != nil {
		return nil, fmt.Errorf("dws client: credentials: %w", err)
	}
	return &Client{cfg: cfg, cred: cred}, nil
}

// call runs one SDK call with retries when retry is true, one SDK client per
// attempt so that the attempt's transport carries ctx.
func (c *Client) call(ctx context.Context, op, operation, taskID string, retry bool, created *string, body *[]byte,
	fn func(*dwssdk.DwsClient) error) error {
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return mapError(op, err)
		}
		timeout := c.cfg.AttemptTimeout
		if dl, ok := ctx.Deadline(); ok {
			timeout = min(timeout, time.Until(dl))
		}
		rt := &attemptTransport{ctx: ctx, base: c.cfg.Transport, recorder: c.cfg.Recorder, operation: operation,
			taskID: taskID, number: n, timeout: max(timeout, time.Millisecond), now: c.cfg.Now, created: created, body: body}
		hc, err := dwssdk.DwsClientBuilder().
			WithEndpoints([]string{c.cfg.Endpoint}).
			WithCredential(c.cred).
			WithHttpConfig(config.DefaultHttpConfig().
				// The transport enforces the attempt's deadline; this one is a backstop.
				WithTimeout(max(timeout, time.Millisecond) + time.Second).
				WithHttpRoundTripper(rt).
				WithUserAgent(c.cfg.UserAgent)).
			SafeBuild()
		if err != nil {
			return fmt.Errorf("%s: build SDK client: %w", op, err)
		}
		err = mapError(op, fn(dwssdk.NewDwsClient(hc)))
		if err == nil {
			return nil
		}
		e, _ := AsError(err)
		if !retry || e == nil || !e.Transient() || n >= c.cfg.MaxAttempts || ctx.Err() != nil {
			return err
		}
		// Exponential backoff with full jitter; throttling waits longer.
		backoff := c.cfg.BaseBackoff << (n - 1)
		if e.Kind == KindThrottled {
			backoff = max(backoff, 2*time.Second)
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+100*time.Millisecond {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// ListClusters returns the account's clusters (the picker source).
func (c *Client) ListClusters(ctx context.Context) ([]Cluster, error) {
	var out []Cluster
	var body []byte
	err := c.call(ctx, "list clusters", "clusters", "", true, nil, &body, func(cl *dwssdk.DwsClient) error {
		resp, err := cl.ListClusters(&model.ListClustersRequest{})
		var sre *sdkerr.ServiceResponseError
		if errors.As(err, &sre) && sre.StatusCode < 300 {
			// The SDK could not decode a 2xx: one API example sends
			// "count" as a string, which its model cannot hold. Read the
			// clusters without it.
			var lenient struct {
				Clusters *[]model.ClusterInfo `json:"clusters"`
			}
			if json.Unmarshal(withoutCount(body), &lenient) != nil || lenient.Clusters == nil {
				return err
			}
			resp, err = &model.ListClustersResponse{Clusters: lenient.Clusters}, nil
		}
		if err != nil {
			return err
		}
		out = out[:0]
		if resp.Clusters != nil {
			for _, ci := range *resp.Clusters {
				out = append(out, Cluster{ID: str(&ci.Id), Name: str(&ci.Name), Status: str(&ci.Status), SubStatus: str(&ci.SubStatus),
					Version: str(&ci.Version), AZ: str(&ci.AvailabilityZone), VPCID: str(&ci.VpcId), TaskStatus: str(&ci.TaskStatus),
					Nodes: int(ci.NumberOfNode)})
			}
		}
		return nil
	})
	return out, err
}

// withoutCount returns a cluster list answer without its "count" field.
func withoutCount(body []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	delete(m, "count")
	b, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return b
}

// AvailableStandbys lists the clusters eligible as standby for primaryID in
// availability zone standbyAZ.
func (c *Client) AvailableStandbys(ctx context.Context, primaryID, standbyAZ string) ([]ClusterRef, error) {
	var out []ClusterRef
	err := c.call(ctx, "list available DR clusters", "available-clusters", "", true, nil, nil, func(cl *dwssdk.DwsClient) error {
		resp, err := cl.ListAvailableDisasterClusters(&model.ListAvailableDisasterClustersRequest{
			PrimaryClusterId: primaryID, StandbyAzCode: standbyAZ})
		if err != nil {
			return err
		}
		out = out[:0]
		if resp.DisasterRecoveryClusters != nil {
			for _, v := range *resp.DisasterRecoveryClusters {
				out = append(out, ClusterRef{ID: str(v.Id), Name: str(v.Name)})
			}
		}
		return nil
	})
	return out, err
}

// CheckName reports whether a DR task name is free. A taken name is not an
// error: it returns false.
func (c *Client) CheckName(ctx context.Context, name string) (free bool, err error) {
	err = c.call(ctx, "check DR task name", "check-name", "", true, nil, nil, func(cl *dwssdk.DwsClient) error {
		_, err := cl.CheckDisasterName(&model.CheckDisasterNameRequest{DrName: name})
		return err
	})
	if IsKind(err, KindConflict) {
		return false, nil
	}
	return err == nil, err
}

// Create asks the cloud to create a DR task and returns its id. It is never
// retried: the API has no idempotency key, so after an ambiguous outcome
// (see Error.Ambiguous) the caller must look the task up instead.
func (c *Client) Create(ctx context.Context, p portal.CreateSpec) (string, error) {
	var created string
	err := c.call(ctx, "create DR task", "create", "", false, &created, nil, func(cl *dwssdk.DwsClient) error {
		resp, err := cl.CreateDisasterRecovery(&model.CreateDisasterRecoveryRequest{Body: createModel(p)})
		if err != nil {
			return err
		}
		if resp.DisasterRecovery != nil && resp.DisasterRecovery.Id != nil {
			created = *resp.DisasterRecovery.Id
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if !ValidID(created) {
		// Accepted, but the answer names no task the portal can keep: the
		// executor looks the task up by name and clusters instead.
		return "", &Error{Op: "create DR task", Kind: KindUnreadable, StatusCode: 200}
	}
	return created, nil
}

// Get returns the detail of one DR task. A task that does not exist (or was
// deleted) is an *Error of KindNotFound. The task's Raw holds the response
// body exactly as the API sent it (see KeepRaw), not the SDK model
// re-encoded, which would lose nulls, key order and fields the SDK lacks.
func (c *Client) Get(ctx context.Context, id string) (portal.Task, error) {
	var t portal.Task
	var body []byte
	err := c.call(ctx, "show DR task "+id, "detail", id, true, nil, &body, func(cl *dwssdk.DwsClient) error {
		resp, err := cl.ShowDisasterDetail(&model.ShowDisasterDetailRequest{DisasterRecoveryId: id})
		if err != nil {
			return err
		}
		if resp.DisasterRecovery == nil || !strings.EqualFold(str(resp.DisasterRecovery.Id), id) {
			// No task, or another task than the one asked for: nothing in it
			// may be taken for this task.
			return &Error{Op: "show DR task " + id, Kind: KindUnreadable, StatusCode: resp.HttpStatusCode}
		}
		t = taskFromModel(resp.DisasterRecovery)
		t.Raw = KeepRaw(body)
		return nil
	})
	return t, err
}

// List returns every DR task of the project.
func (c *Client) List(ctx context.Context) ([]portal.TaskSummary, error) {
	var out []portal.TaskSummary
	err := c.call(ctx, "list DR tasks", "list", "", true, nil, nil, func(cl *dwssdk.DwsClient) error {
		resp, err := cl.ListDisasterRecover(&model.ListDisasterRecoverRequest{})
		if err != nil {
			return err
		}
		if resp.DisasterRecovery == nil {
			// An answer without the list (an error body sent with 200, say)
			// is not an empty list: read as one, it would say every task
			// was gone.
			return &Error{Op: "list DR tasks", Kind: KindUnreadable, StatusCode: resp.HttpStatusCode}
		}
		out = out[:0]
		for i := range *resp.DisasterRecovery {
			// An item without a task id is no task the portal can keep.
			if it := summaryFromModel(&(*resp.DisasterRecovery)[i]); ValidID(it.ID) {
				out = append(out, it)
			}
		}
		return nil
	})
	return out, err
}

// MaxRaw bounds the bytes of an answer kept for display.
const MaxRaw = 64 << 10

// KeepRaw returns a copy of an answer's body for keeping: the exact bytes
// when they fit in MaxRaw; otherwise the first MaxRaw bytes (cut before a
// UTF-8 character that does not fit) followed by a line saying they were
// truncated and how long the answer was.
func KeepRaw(body []byte) []byte {
	if len(body) <= MaxRaw {
		return bytes.Clone(body)
	}
	cut := MaxRaw
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return fmt.Appendf(bytes.Clone(body[:cut]), "\n[truncated by the portal: the answer had %d bytes; the first %d are shown]\n",
		len(body), cut)
}

// taskFromModel maps the SDK's detail model to the portal's task; the
// caller sets Raw.
func taskFromModel(m *model.DisasterRecoveryQueryResp) portal.Task {
	return portal.Task{
		ID: str(m.Id), Name: str(m.Name), Status: portal.TaskStatus(str(m.Status)), DRType: str(m.DrType),
		SyncPeriod: str(m.DrSyncPeriod), StartTime: str(m.StartTime), CreateTime: str(m.CreateTime),
		Primary: clusterFromModel(m.PrimaryCluster), Standby: clusterFromModel(m.StandbyCluster),
	}
}

func clusterFromModel(m *model.DisasterRecoveryCluster) portal.TaskSide {
	if m == nil {
		return portal.TaskSide{}
	}
	return portal.TaskSide{
		ID: str(m.Id), Name: str(m.Name), AZ: str(m.ClusterAz), Role: str(m.Role), Region: str(m.Region),
		Status: str(m.Status), Progress: str(m.Progress), LastSuccessTime: str(m.LastSuccessTime),
		OBSBucket: str(m.ObsBucketName), DatastoreType: str(m.DatastoreType),
		DatastoreVersion: str(m.DatastoreVersion), DiskCapacity: str(m.DiskCapacity), DiskUsed: str(m.DiskUsed),
	}
}

func summaryFromModel(m *model.DisasterRecovery) portal.TaskSummary {
	raw, _ := json.Marshal(m)
	return portal.TaskSummary{
		ID: str(m.Id), Name: str(m.Name), Status: portal.TaskStatus(str(m.Status)), DRType: str(m.DrType),
		PrimaryClusterID: str(m.PrimaryClusterId), PrimaryClusterName: str(m.PrimaryClusterName),
		StandbyClusterID: str(m.StandbyClusterId), StandbyClusterName: str(m.StandbyClusterName),
		LastSyncTime: str(m.LastDisasterTime), StartTime: str(m.StartTime), CreateTime: str(m.CreateTime),
		Raw: raw,
	}
}

// str reads a text of an answer, made storable and bounded (clean).
func str(p *string) string {
	if p == nil {
		return ""
	}
	return clean(*p, maxField)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
