package jobs

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// TestAFailedDeliveryDoesNotRecordTheWebhookURL: a receiver that cannot
// be reached fails the attempt with an error naming its host only. The
// error is kept in the job's history and logged, and a receiver's address
// may carry a token in its path or query.
func TestAFailedDeliveryDoesNotRecordTheWebhookURL(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	const token = "hook-token-6f1c2a"
	w := &webhookWorker{cfg: &Config{WebhookURL: "http://" + addr + "/hooks/" + token + "?key=" + token,
		WebhookSecret: "a secret of sixteen+", Now: time.Now}}
	job := &river.Job[webhookArgs]{JobRow: &rivertype.JobRow{ID: 7}, Args: webhookArgs{Event: "request.approved", Body: []byte(`{}`)}}
	err = w.Work(context.Background(), job)
	if err == nil {
		t.Fatal("a delivery to a closed port succeeded")
	}
	if strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), addr) {
		t.Errorf("the error is %q: it must name the host %s and not the path or query", err, addr)
	}
}
