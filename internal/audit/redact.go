package audit

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Redacted replaces a secret value in audited data.
const Redacted = "[redacted]"

// secretKey reports whether a JSON key names a secret. It errs on the side
// of hiding: a hidden non-secret costs a little detail, a shown secret costs
// a rotation.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"password", "passwd", "pwd", "secret", "token", "authorization", "credential", "private_key"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return k == "sk" || k == "ak_sk" || strings.HasSuffix(k, "_sk")
}

// RedactJSON returns body with the values of secret-looking keys replaced,
// at any depth. A body that is not JSON is returned as is: cloud request
// bodies are JSON, and a non-JSON body carries no key names to go by.
func RedactJSON(body []byte) []byte {
	if len(bytes.TrimSpace(body)) == 0 {
		return body
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return body
	}
	if !redact(v) {
		return body
	}
	out, err := json.Marshal(v)
	if err != nil {
		return []byte(`"` + Redacted + `"`)
	}
	return out
}

func redact(v any) (changed bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if secretKey(k) {
				t[k] = Redacted
				changed = true
				continue
			}
			if redact(val) {
				changed = true
			}
		}
	case []any:
		for _, val := range t {
			if redact(val) {
				changed = true
			}
		}
	}
	return changed
}
