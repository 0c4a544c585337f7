package dwsfixture

import (
	"bytes"
	"encoding/json"
	"regexp"
)

// fieldLine is one `"key" : value` line of the detail example.
var fieldLine = regexp.MustCompile(`^(\s*)"([a-z_]+)" : (.*?)(,?)(\r?\n?)$`)

// renderDetail writes t's detail in the detail example's own text: its
// lines, spacing, key order and nulls, with each value replaced by t's. A
// value t does not have is written as null, as the example writes the
// standby's AZ. Lines the example has and t does not describe stay as
// printed.
func renderDetail(t *task) []byte {
	top := map[string]any{"id": t.id, "name": t.name, "status": t.status, "dr_type": t.drType,
		"dr_sync_period": t.period, "start_time": orNull(stamp(t.started)), "create_time": orNull(stamp(t.created))}
	sides := map[string]map[string]any{"primary_cluster": sideFields(t, t.primary, "primary"),
		"standby_cluster": sideFields(t, t.standby, "standby")}
	var out bytes.Buffer
	fields := top
	for _, line := range bytes.SplitAfter(DetailExample, []byte("\n")) {
		m := fieldLine.FindSubmatch(line)
		if m == nil {
			if bytes.HasPrefix(bytes.TrimSpace(line), []byte("}")) {
				fields = top
			}
			out.Write(line)
			continue
		}
		key, value := string(m[2]), m[3]
		if string(value) == "{" {
			if f, ok := sides[key]; ok {
				fields = f
			}
			out.Write(line)
			continue
		}
		v, ok := fields[key]
		if !ok {
			out.Write(line)
			continue
		}
		b, _ := json.Marshal(v)
		out.Write(m[1])
		out.WriteString(`"` + key + `" : `)
		out.Write(b)
		out.Write(m[4])
		out.Write(m[5])
	}
	return out.Bytes()
}

func sideFields(t *task, s side, role string) map[string]any {
	f := map[string]any{"id": s.id, "name": s.name, "cluster_az": orNull(s.az), "role": role, "region": s.region,
		"status": orNull(clusterStatus(t)), "progress": nil, "last_success_time": orNull(stamp(t.lastSync))}
	if !t.lastSync.IsZero() {
		f["progress"] = "100"
	}
	return f
}

// orNull is nil (JSON null) for "".
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}
