package audit

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

func sample() Event {
	return Event{
		ID: 7, OccurredAt: time.Date(2026, 11, 22, 10, 42, 13, 123456789, time.FixedZone("x", 3600)),
		Actor: Actor{ID: 3, Name: "ana@example.com"}, Action: ActionCreateRejected, SubjectType: SubjectDRTask,
		SubjectID: "e59d6b86-9072-46eb-a996-13f8b44994c1", CorrelationID: "req-1", Outcome: Success,
		Detail: Detail(map[string]any{"b": 1, "a": "<x>"}),
	}
}

func TestCanonicalIsStableAndCoversEveryField(t *testing.T) {
	e := sample()
	e.Normalize()
	got := string(Canonical(e))
	want := `[1,7,"2026-11-22T09:42:13.123456Z",3,"ana@example.com","dr_task.create.rejected","dr_task","e59d6b86-9072-46eb-a996-13f8b44994c1",0,"req-1","success","{\"a\":\"<x>\",\"b\":1}"]`
	if got != want {
		t.Fatalf("canonical\n got %s\nwant %s", got, want)
	}
	h := ChainHash(GenesisHash, e)
	mutations := map[string]func(*Event){
		"id":          func(e *Event) { e.ID++ },
		"time":        func(e *Event) { e.OccurredAt = e.OccurredAt.Add(time.Microsecond) },
		"actor id":    func(e *Event) { e.Actor.ID++ },
		"actor name":  func(e *Event) { e.Actor.Name += "x" },
		"action":      func(e *Event) { e.Action += "x" },
		"subject":     func(e *Event) { e.SubjectID += "x" },
		"request":     func(e *Event) { e.RequestID = 1 },
		"correlation": func(e *Event) { e.CorrelationID = "" },
		"outcome":     func(e *Event) { e.Outcome = Failure },
		"detail":      func(e *Event) { e.Detail = []byte(`{"a":"<x>","b":2}`) },
	}
	for name, mutate := range mutations {
		m := e
		mutate(&m)
		if bytes.Equal(ChainHash(GenesisHash, m), h) {
			t.Errorf("changing the %s does not change the hash", name)
		}
	}
	other := make([]byte, 32)
	other[0] = 1
	if bytes.Equal(ChainHash(other, e), h) {
		t.Error("the previous hash is not covered")
	}
	if len(hex.EncodeToString(h)) != 64 {
		t.Errorf("hash length %d", len(h))
	}
}

func TestDetailSortsKeysAndSurvivesBadValues(t *testing.T) {
	if got := string(Detail(map[string]any{"z": 1, "a": []int{2}})); got != `{"a":[2],"z":1}` {
		t.Errorf("Detail = %s", got)
	}
	if got := string(Detail(map[string]any{"f": func() {}})); !strings.HasPrefix(got, `{"detail_error":`) {
		t.Errorf("unencodable detail = %s", got)
	}
	if got := string(CanonicalJSON([]byte(`{"b": 1.50, "a": {"y": true, "x": null}}`))); got != `{"a":{"x":null,"y":true},"b":1.50}` {
		t.Errorf("CanonicalJSON = %s", got)
	}
}

func TestRedactJSONHidesSecretsAtAnyDepth(t *testing.T) {
	in := `{"disaster_recovery":{"name":"dr1","primary_cluster_info":{"db_admin_pwd":"hunter2","cluster_id":"c"}},"token":"t","list":[{"password":"p"}]}`
	out := string(RedactJSON([]byte(in)))
	for _, secret := range []string{"hunter2", `"t"`, `"p"`} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %s survived: %s", secret, out)
		}
	}
	if !strings.Contains(out, `"dr1"`) || !strings.Contains(out, `"cluster_id":"c"`) {
		t.Errorf("non-secrets lost: %s", out)
	}
	plain := `{"name":"dr1"}`
	if got := string(RedactJSON([]byte(plain))); got != plain {
		t.Errorf("unchanged body re-encoded: %s", got)
	}
}

func TestContextCarriesActorAndCorrelation(t *testing.T) {
	ctx := context.Background()
	if ActorFrom(ctx) != (Actor{}) || CorrelationFrom(ctx) != "" {
		t.Error("an empty context must give no actor (never a silent system) and no correlation")
	}
	if err := FromContext(ctx, ActionSignIn, Success).Validate(); err == nil {
		t.Error("an event nobody named an actor for was accepted")
	}
	ctx = WithCorrelation(WithActor(ctx, Actor{ID: 1, Name: "a"}), "c1")
	e := FromContext(ctx, ActionSignIn, Success)
	if e.Actor.ID != 1 || e.CorrelationID != "c1" || e.Action != ActionSignIn {
		t.Errorf("FromContext = %+v", e)
	}
}

func TestANilDetailIsAnEmptyObject(t *testing.T) {
	var m map[string]any
	if got := string(Detail(m)); got != "{}" {
		t.Errorf("Detail(nil map) = %s", got)
	}
}
