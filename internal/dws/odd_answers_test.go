package dws_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"drportal/internal/dws"
	"drportal/internal/portal"
)

type recorder struct{ attempts []dws.Attempt }

func (r *recorder) RecordAttempt(_ context.Context, a dws.Attempt) {
	r.attempts = append(r.attempts, a)
}

// answeringWith is a DWS endpoint whose answers the test writes.
func answeringWith(t *testing.T, h http.HandlerFunc) (*dws.Client, *recorder) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	rec := &recorder{}
	cl, err := dws.New(dws.Config{Endpoint: srv.URL, ProjectID: testProject, AK: testAK, SK: testSK,
		BaseBackoff: time.Millisecond, AttemptTimeout: 5 * time.Second, MaxAttempts: 1, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	return cl, rec
}

const idA = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
const idB = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

// a detail answer for another id is returned as the asked task.
func TestADetailAnswerForAnotherTaskIsUnreadable(t *testing.T) {
	cl, _ := answeringWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"disaster_recovery":{"id":"` + idB + `","name":"other","status":"stopped"}}`))
	})
	task, err := cl.Get(context.Background(), idA)
	if err == nil && task.ID != idA {
		t.Errorf("asked for %s, got a task with id %q and no error", idA, task.ID)
	}
}

// a list answered 200 with an error body (or {}) reads as "no tasks".
func TestAListAnswerWithoutTheListIsUnreadableNotEmpty(t *testing.T) {
	cl, _ := answeringWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"error_code":"DWS.9999","error_msg":"internal error"}`))
	})
	items, err := cl.List(context.Background())
	if err == nil {
		t.Errorf("a list answer without disaster_recovery is read as %d tasks and no error", len(items))
	}
}

// an action answered 200 with an error body is success.
func TestAnOperationAnswered200WithAnErrorIsNotTakenAsAccepted(t *testing.T) {
	cl, _ := answeringWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"error_code":"DWS.7023","error_msg":"Cluster status is not allowed to operation."}`))
	})
	for _, op := range []portal.Operation{portal.OpDelete, portal.OpStop, portal.OpSwitchover} {
		if err := cl.Operate(context.Background(), op, idA, nil); err == nil {
			t.Errorf("%s answered 200 {error_code: DWS.7023}: reported as accepted", op)
		}
	}
}

// invalid UTF-8 and NUL from the cloud reach the domain values.
func TestTextsOfAnAnswerAreStorable(t *testing.T) {
	cl, _ := answeringWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("{\"disaster_recovery\":{\"id\":\"" + idA + "\",\"name\":\"bad\xff\xfename\",\"status\":\"run\\u0000ning\"}}"))
	})
	task, err := cl.Get(context.Background(), idA)
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.ValidString(task.Name) || strings.ContainsRune(string(task.Status), 0) {
		t.Errorf("name %q (valid UTF-8: %v), status %q: text PostgreSQL refuses", task.Name, utf8.ValidString(task.Name), task.Status)
	}
}

// invalid UTF-8 in an error message reaches Error.Message.
func TestAnErrorMessageIsStorable(t *testing.T) {
	cl, _ := answeringWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		w.Write([]byte("{\"error_code\":\"DWS.5065\",\"error_msg\":\"bad\xff\\u0000msg\"}"))
	})
	err := cl.Operate(context.Background(), portal.OpStart, idA, nil)
	e, ok := dws.AsError(err)
	if !ok {
		t.Fatal(err)
	}
	if !utf8.ValidString(e.Message) || strings.ContainsRune(e.Message, 0) {
		t.Errorf("error message %q is not storable text", e.Message)
	}
}

// X-Request-Id, error_msg and transport errors are unbounded.
func TestRequestIDsAndMessagesAreBounded(t *testing.T) {
	big := strings.Repeat("A", 2<<20)
	for _, rid := range []string{big, big + "\x1b[31mRED"} {
		cl, rec := answeringWith(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", rid)
			w.WriteHeader(500)
			w.Write([]byte(`{"error_code":"DWS.9999","error_msg":"` + big + `"}`))
		})
		_, err := cl.Get(context.Background(), idA)
		e, _ := dws.AsError(err)
		if e == nil {
			t.Fatal(err)
		}
		a := rec.attempts[len(rec.attempts)-1]
		if len(e.RequestID) > 1000 || len(e.Message) > 4000 || len(a.RequestID) > 1000 || len(a.ErrorMsg) > 4000 || len(a.Error) > 4000 || len(err.Error()) > 8000 {
			t.Errorf("kept unbounded: Error.RequestID %d bytes, Error.Message %d, Attempt.RequestID %d, Attempt.ErrorMsg %d, Attempt.Error %d; Error() is %d bytes",
				len(e.RequestID), len(e.Message), len(a.RequestID), len(a.ErrorMsg), len(a.Error), len(err.Error()))
		}
	}
}

// the cluster list's documented "count":"2" fails the whole list.
func TestAClusterListWithCountAsAStringIsRead(t *testing.T) {
	cl, _ := answeringWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"clusters":[{"id":"` + idA + `","name":"c1","status":"AVAILABLE"}],"count":"1"}`))
	})
	cs, err := cl.ListClusters(context.Background())
	if err != nil || len(cs) != 1 {
		t.Errorf(`cluster list with "count":"1" (as in the API's own example): %d clusters, %v`, len(cs), err)
	}
}

// a create answered with an arbitrary "id" string is taken as the new task's id.
func TestACreateAnswerWithoutATaskIDIsUnreadable(t *testing.T) {
	cl, rec := answeringWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"disaster_recovery":{"id":"../../<script>x</script>"}}`))
	})
	id, err := cl.Create(context.Background(), portal.CreateSpec{Name: "dr_x001", DRType: "az", PrimaryClusterID: idA, StandbyClusterID: idB, SyncPeriod: "5m"})
	if err == nil {
		t.Errorf("create accepted id %q (audit subject %q)", id, rec.attempts[0].TaskID)
	}
}
