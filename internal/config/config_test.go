package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaultsAreTheEmbeddedSetup(t *testing.T) {
	cfg, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Simulated || cfg.DatabaseURL != "" || cfg.HTTPAddr != ":8080" || cfg.DataDir != ".data" {
		t.Errorf("defaults: %+v", cfg)
	}
	if cfg.BaseURL.String() != "http://localhost:8080" || cfg.SecureCookies() {
		t.Errorf("base url %s secure %v", cfg.BaseURL, cfg.SecureCookies())
	}
	if cfg.CloudTimeout != 10*time.Second || cfg.SessionIdleTimeout != 2*time.Hour || cfg.SessionMaxAge != 12*time.Hour {
		t.Errorf("timeouts: %v %v %v", cfg.CloudTimeout, cfg.SessionIdleTimeout, cfg.SessionMaxAge)
	}
}

func TestLoadRealCloud(t *testing.T) {
	cfg, err := Load(env(map[string]string{
		"DWS_AK": "AK123", "DWS_SK": "secret", "DWS_PROJECT_ID": "0123456789abcdef0123456789abcdef",
		"DWS_REGION": "eu-west-101", "BASE_URL": "https://dr.example.com",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Simulated || cfg.DWS.Endpoint != "https://dws.eu-west-101.myhuaweicloud.eu" || !cfg.SecureCookies() {
		t.Errorf("got %+v", cfg)
	}
}

func TestLoadReadsSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "sk")
	if err := os.WriteFile(f, []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(env(map[string]string{
		"DWS_AK": "AK", "DWS_SK_FILE": f, "DWS_PROJECT_ID": "0123456789abcdef0123456789abcdef", "DWS_REGION": "cn-north-4",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DWS.SK != "file-secret" {
		t.Errorf("SK from file = %q", cfg.DWS.SK)
	}
}

func TestLoadNamesTheBadVariable(t *testing.T) {
	good := map[string]string{"DWS_AK": "AK", "DWS_SK": "SK", "DWS_PROJECT_ID": "0123456789abcdef0123456789abcdef", "DWS_REGION": "cn-north-4"}
	tests := []struct {
		name string
		set  map[string]string
		want string
	}{
		{"bad port", map[string]string{"HTTP_ADDR": ":99999"}, "HTTP_ADDR"},
		{"not host:port", map[string]string{"HTTP_ADDR": "8080"}, "HTTP_ADDR"},
		{"relative base url", map[string]string{"BASE_URL": "example.com"}, "BASE_URL"},
		{"bad database url", map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL"},
		{"partial cloud", map[string]string{"DWS_AK": "AK"}, "DWS_SK"},
		{"bad project", merge(good, map[string]string{"DWS_PROJECT_ID": "xyz"}), "DWS_PROJECT_ID"},
		{"bad region", merge(good, map[string]string{"DWS_REGION": "north"}), "DWS_REGION"},
		{"endpoint with path", merge(good, map[string]string{"DWS_ENDPOINT": "https://x.example.com/v2"}), "DWS_ENDPOINT"},
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"admin without password", map[string]string{"ADMIN_EMAIL": "a@example.com"}, "ADMIN_PASSWORD"},
		{"short admin password", map[string]string{"ADMIN_EMAIL": "a@example.com", "ADMIN_PASSWORD": "short"}, "ADMIN_PASSWORD"},
		{"bad admin email", map[string]string{"ADMIN_EMAIL": "not an email", "ADMIN_PASSWORD": "long-enough-password"}, "ADMIN_EMAIL"},
		{"bad timeout", map[string]string{"DWS_TIMEOUT": "forever"}, "DWS_TIMEOUT"},
		{"timeout out of range", map[string]string{"DWS_TIMEOUT": "1ms"}, "DWS_TIMEOUT"},
		{"sim speed", map[string]string{"SIM_SPEED": "0"}, "SIM_SPEED"},
		{"missing file", map[string]string{"DWS_SK_FILE": "/nonexistent/sk"}, "DWS_SK_FILE"},
		{"webhook without secret", map[string]string{"WEBHOOK_URL": "https://hooks.example.com/x"}, "WEBHOOK_SECRET"},
		{"webhook not a url", map[string]string{"WEBHOOK_URL": "hooks", "WEBHOOK_SECRET": "0123456789abcdef"}, "WEBHOOK_URL"},
		{"webhook not http", map[string]string{"WEBHOOK_URL": "ftp://hooks.example.com/x", "WEBHOOK_SECRET": "0123456789abcdef"}, "WEBHOOK_URL"},
		{"webhook with user info", map[string]string{"WEBHOOK_URL": "https://user:pass@hooks.example.com/x", "WEBHOOK_SECRET": "0123456789abcdef"}, "WEBHOOK_URL"},
		{"webhook with a user name", map[string]string{"WEBHOOK_URL": "https://user@hooks.example.com/x", "WEBHOOK_SECRET": "0123456789abcdef"}, "WEBHOOK_URL"},
		{"secret without webhook", map[string]string{"WEBHOOK_SECRET": "0123456789abcdef"}, "WEBHOOK_URL"},
		{"execution timeout", map[string]string{"EXECUTION_TIMEOUT": "5s"}, "EXECUTION_TIMEOUT"},
		{"both value and file", map[string]string{"ADMIN_PASSWORD": "x", "ADMIN_PASSWORD_FILE": "/etc/hostname"}, "ADMIN_PASSWORD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.set))
			if err == nil {
				t.Fatal("no error")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *config.Error", err)
			}
			if !strings.Contains(err.Error(), tt.want+":") && !strings.Contains(err.Error(), tt.want+"_FILE:") {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
		})
	}
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestTrustedProxies(t *testing.T) {
	env := map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.10/32"}
	cfg, err := Load(func(k string) string { return env[k] })
	if err != nil || len(cfg.TrustedProxies) != 2 || cfg.TrustedProxies[1].String() != "192.168.1.10/32" {
		t.Fatalf("TRUSTED_PROXIES: %v %v", cfg.TrustedProxies, err)
	}
	env["TRUSTED_PROXIES"] = "10.0.0.0/8,proxy.example"
	if _, err := Load(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "TRUSTED_PROXIES") {
		t.Errorf("a bad CIDR: %v", err)
	}
}

// TestAWebhookURLWithAPasswordIsRefusedWithoutEchoingIt: user info in
// WEBHOOK_URL is refused, and the error does not print the password.
func TestAWebhookURLWithAPasswordIsRefusedWithoutEchoingIt(t *testing.T) {
	for _, u := range []string{"https://user:hunter2-hunter2@hooks.example.com/x", "ftp://user:hunter2-hunter2@hooks.example.com/x"} {
		_, err := Load(env(map[string]string{"WEBHOOK_URL": u, "WEBHOOK_SECRET": "0123456789abcdef"}))
		if err == nil || !strings.Contains(err.Error(), "WEBHOOK_URL") {
			t.Errorf("%s: %v", u, err)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

// TestAPlainHTTPWebhookOutsideThisMachineIsWarnedAbout: http to another
// host is accepted with a warning; http to loopback and https are not
// warned about.
func TestAPlainHTTPWebhookOutsideThisMachineIsWarnedAbout(t *testing.T) {
	tests := []struct {
		url  string
		warn bool
	}{
		{"http://example.com", true},
		{"http://hooks.example.com:8080/dr", true},
		{"http://10.1.2.3/hook", true},
		{"http://[2001:db8::1]:9000/", true},
		{"http://127.0.0.1", false},
		{"http://127.0.0.1:9000/hook", false},
		{"http://127.8.9.10/", false},
		{"http://localhost:9000/hook", false},
		{"http://LOCALHOST/", false},
		{"http://[::1]:9000/", false},
		{"https://example.com/hook", false},
	}
	for _, tt := range tests {
		cfg, err := Load(env(map[string]string{"WEBHOOK_URL": tt.url, "WEBHOOK_SECRET": "0123456789abcdef"}))
		if err != nil {
			t.Errorf("%s refused: %v", tt.url, err)
			continue
		}
		w := cfg.Warnings()
		if got := len(w) == 1 && strings.HasPrefix(w[0], "WEBHOOK_URL: plain http"); got != tt.warn || len(w) > 1 {
			t.Errorf("%s: warnings %q, want a plain-http warning: %v", tt.url, w, tt.warn)
		}
	}
	if cfg, err := Load(env(nil)); err != nil || len(cfg.Warnings()) != 0 {
		t.Errorf("no webhook: warnings %q, %v", cfg.Warnings(), err)
	}
}

func TestABadTimeZoneIsRefusedAtStartNamingTheVariable(t *testing.T) {
	for _, name := range []string{"DWS_TIME_ZONE", "DISPLAY_TIME_ZONE"} {
		for _, bad := range []string{"Mars/Olympus_Mons", "+08:00", "Local"} {
			_, err := Load(env(map[string]string{name: bad}))
			var ce *Error
			if !errors.As(err, &ce) || ce.Var != name || !strings.Contains(err.Error(), "IANA time zone") {
				t.Errorf("%s=%q: error %v, want one naming %s", name, bad, err, name)
			}
		}
	}
	cfg, err := Load(env(map[string]string{"DWS_TIME_ZONE": "Asia/Shanghai"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DWSTimeZone.String() != "Asia/Shanghai" || cfg.DisplayTimeZone != time.UTC {
		t.Errorf("zones %v %v, want Asia/Shanghai and UTC", cfg.DWSTimeZone, cfg.DisplayTimeZone)
	}
	if cfg, _ := Load(env(nil)); cfg.DWSTimeZone != time.UTC || cfg.DisplayTimeZone != time.UTC {
		t.Errorf("default zones %v %v, want UTC", cfg.DWSTimeZone, cfg.DisplayTimeZone)
	}
}
