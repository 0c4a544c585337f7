// Package config reads the portal's configuration from the environment,
// validates it once at start, and is the only place that reads environment
// variables.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // DWS_TIME_ZONE and DISPLAY_TIME_ZONE work on hosts without a zone database
)

// Config is the validated configuration of one portal process.
type Config struct {
	// DatabaseURL is the PostgreSQL connection string; empty means "start or
	// reuse a local development database in DataDir".
	DatabaseURL string
	// DataDir holds the local development database when DatabaseURL is empty.
	DataDir string
	// ArchiveDir receives archived audit history.
	ArchiveDir string

	HTTPAddr string
	BaseURL  *url.URL

	// DWS is the cloud configuration. When Simulated is true the portal runs
	// the built-in simulator and DWS holds its generated credentials.
	DWS       DWS
	Simulated bool
	// SimSpeed scales the built-in simulator's timings (1 = demo speed).
	SimSpeed float64

	AdminEmail    string
	AdminPassword string

	LogLevel slog.Level

	// CloudTimeout bounds one cloud call made while a page waits for it.
	CloudTimeout time.Duration
	// SessionIdleTimeout ends a session nobody used for this long;
	// SessionMaxAge ends every session this long after sign-in.
	SessionIdleTimeout time.Duration
	SessionMaxAge      time.Duration

	// WebhookURL receives request notifications, signed with WebhookSecret.
	WebhookURL    string
	WebhookSecret string
	// ExecutionTimeout is how long an approved operation may take to reach
	// its target state before it is marked failed.
	ExecutionTimeout time.Duration
	// DWSTimeZone is the zone DWS timestamps without an offset are read in
	// (the API does not say which zone they are in); DisplayTimeZone is the
	// zone the pages show times in. Both default to UTC.
	DWSTimeZone     *time.Location
	DisplayTimeZone *time.Location
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the
	// client; without any, the client is the connection's peer.
	TrustedProxies []*net.IPNet
}

// DWS is how the portal reaches the DWS API.
type DWS struct {
	Region    string
	ProjectID string
	AK        string
	SK        string
	// Endpoint is the API base URL, derived from Region unless overridden.
	Endpoint string
}

// SecureCookies reports whether cookies must carry the Secure flag: the
// portal is reached over HTTPS.
func (c Config) SecureCookies() bool { return c.BaseURL.Scheme == "https" }

// Error names the variable that is wrong and why.
type Error struct {
	Var    string
	Reason string
}

func (e *Error) Error() string { return e.Var + ": " + e.Reason }

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	projectRE = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// Load reads and validates the configuration. getenv is os.Getenv in
// production; tests pass their own. Variables ending in _FILE are read from
// the named file (for secrets mounted as files): DWS_SK_FILE, DWS_AK_FILE,
// ADMIN_PASSWORD_FILE, DATABASE_URL_FILE.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	get := func(name string) string {
		v := strings.TrimSpace(getenv(name))
		if f := strings.TrimSpace(getenv(name + "_FILE")); f != "" {
			if v != "" {
				errs = append(errs, &Error{name, "set both " + name + " and " + name + "_FILE; set one"})
				return v
			}
			b, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, &Error{name + "_FILE", "cannot read the file: " + err.Error()})
				return ""
			}
			v = strings.TrimSpace(string(b))
		}
		return v
	}
	cfg := Config{
		DatabaseURL:   get("DATABASE_URL"),
		DataDir:       or(get("DATA_DIR"), ".data"),
		HTTPAddr:      or(get("HTTP_ADDR"), ":8080"),
		ArchiveDir:    get("ARCHIVE_DIR"),
		AdminEmail:    strings.ToLower(get("ADMIN_EMAIL")),
		AdminPassword: get("ADMIN_PASSWORD"),
		DWS: DWS{
			Region:    get("DWS_REGION"),
			ProjectID: get("DWS_PROJECT_ID"),
			AK:        get("DWS_AK"),
			SK:        get("DWS_SK"),
			Endpoint:  get("DWS_ENDPOINT"),
		},
	}

	if cfg.ArchiveDir == "" {
		cfg.ArchiveDir = filepath.Join(cfg.DataDir, "archive")
	}
	if cfg.DatabaseURL != "" {
		if _, err := url.Parse(cfg.DatabaseURL); err != nil || !(strings.HasPrefix(cfg.DatabaseURL, "postgres://") ||
			strings.HasPrefix(cfg.DatabaseURL, "postgresql://") || strings.Contains(cfg.DatabaseURL, "=")) {
			errs = append(errs, &Error{"DATABASE_URL", "must be a postgres:// URL or a key=value connection string"})
		}
	}
	if _, port, err := net.SplitHostPort(cfg.HTTPAddr); err != nil {
		errs = append(errs, &Error{"HTTP_ADDR", fmt.Sprintf("must be host:port or :port, got %q", cfg.HTTPAddr)})
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		errs = append(errs, &Error{"HTTP_ADDR", fmt.Sprintf("port must be 0-65535, got %q", port)})
	}

	base := get("BASE_URL")
	if base == "" {
		base = "http://localhost" + portSuffix(cfg.HTTPAddr)
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, &Error{"BASE_URL", fmt.Sprintf("must be an absolute http(s) URL, got %q", base)})
	} else {
		cfg.BaseURL = u
	}

	// The cloud: all of AK, SK and project, or none of them (the simulator).
	d := &cfg.DWS
	if d.AK == "" && d.SK == "" && d.ProjectID == "" && d.Endpoint == "" {
		cfg.Simulated = true
		d.Region = or(d.Region, "cn-north-4")
	} else {
		for _, v := range []struct{ name, val string }{{"DWS_AK", d.AK}, {"DWS_SK", d.SK}, {"DWS_PROJECT_ID", d.ProjectID}} {
			if v.val == "" {
				errs = append(errs, &Error{v.name, "is required when any of DWS_AK, DWS_SK, DWS_PROJECT_ID, DWS_ENDPOINT is set (leave all unset to use the built-in simulator)"})
			}
		}
		if d.ProjectID != "" && !projectRE.MatchString(d.ProjectID) {
			errs = append(errs, &Error{"DWS_PROJECT_ID", "must be 32 lowercase hex characters (the IAM project ID of the region)"})
		}
		if d.Endpoint == "" && d.Region == "" {
			errs = append(errs, &Error{"DWS_REGION", "is required unless DWS_ENDPOINT is set"})
		}
		if d.Region != "" && !regionRE.MatchString(d.Region) {
			errs = append(errs, &Error{"DWS_REGION", fmt.Sprintf("must look like cn-north-4, got %q", d.Region)})
		}
		if d.Endpoint != "" {
			u, err := url.Parse(d.Endpoint)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
				errs = append(errs, &Error{"DWS_ENDPOINT", fmt.Sprintf("must be a base URL like https://dws.cn-north-4.myhuaweicloud.com, got %q", d.Endpoint)})
			}
			d.Endpoint = strings.TrimSuffix(d.Endpoint, "/")
		} else if d.Region != "" {
			d.Endpoint = RegionEndpoint(d.Region)
		}
	}

	speed := or(get("SIM_SPEED"), "1")
	if f, err := strconv.ParseFloat(speed, 64); err != nil || f <= 0 || f > 1e6 {
		errs = append(errs, &Error{"SIM_SPEED", fmt.Sprintf("must be a number above 0 (1 = demo speed), got %q", speed)})
	} else {
		cfg.SimSpeed = f
	}

	if cfg.AdminEmail != "" {
		if a, err := mail.ParseAddress(cfg.AdminEmail); err != nil || a.Address != cfg.AdminEmail {
			errs = append(errs, &Error{"ADMIN_EMAIL", fmt.Sprintf("must be a plain e-mail address, got %q", cfg.AdminEmail)})
		}
	}
	if (cfg.AdminEmail == "") != (cfg.AdminPassword == "") {
		errs = append(errs, &Error{"ADMIN_PASSWORD", "ADMIN_EMAIL and ADMIN_PASSWORD go together: set both or neither"})
	}
	if cfg.AdminPassword != "" && len(cfg.AdminPassword) < MinPasswordLength {
		errs = append(errs, &Error{"ADMIN_PASSWORD", fmt.Sprintf("must be at least %d characters", MinPasswordLength)})
	}

	switch lvl := strings.ToLower(or(get("LOG_LEVEL"), "info")); lvl {
	case "debug":
		cfg.LogLevel = slog.LevelDebug
	case "info":
		cfg.LogLevel = slog.LevelInfo
	case "warn":
		cfg.LogLevel = slog.LevelWarn
	case "error":
		cfg.LogLevel = slog.LevelError
	default:
		errs = append(errs, &Error{"LOG_LEVEL", fmt.Sprintf("must be debug, info, warn or error, got %q", lvl)})
	}

	cfg.CloudTimeout = duration(get, "DWS_TIMEOUT", 10*time.Second, time.Second, 5*time.Minute, &errs)
	cfg.SessionIdleTimeout = duration(get, "SESSION_IDLE_TIMEOUT", 2*time.Hour, time.Minute, 30*24*time.Hour, &errs)
	cfg.SessionMaxAge = duration(get, "SESSION_MAX_AGE", 12*time.Hour, time.Minute, 90*24*time.Hour, &errs)
	cfg.ExecutionTimeout = duration(get, "EXECUTION_TIMEOUT", 30*time.Minute, time.Minute, 24*time.Hour, &errs)

	cfg.WebhookURL, cfg.WebhookSecret = get("WEBHOOK_URL"), get("WEBHOOK_SECRET")
	if cfg.WebhookURL != "" {
		// The URL is not echoed unless it parsed and holds no password.
		switch u, err := url.Parse(cfg.WebhookURL); {
		case err != nil:
			errs = append(errs, &Error{"WEBHOOK_URL", "must be an absolute http(s) URL; the value does not parse as a URL"})
		case u.User != nil:
			errs = append(errs, &Error{"WEBHOOK_URL", "must not contain a user name or password (user:password@host): " +
				"receivers authenticate a delivery by its signature made with WEBHOOK_SECRET"})
		case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, &Error{"WEBHOOK_URL", fmt.Sprintf("must be an absolute http(s) URL, got %q", cfg.WebhookURL)})
		}
		if len(cfg.WebhookSecret) < 16 {
			errs = append(errs, &Error{"WEBHOOK_SECRET", "must be at least 16 characters when WEBHOOK_URL is set (receivers check the HMAC signature with it)"})
		}
	} else if cfg.WebhookSecret != "" {
		errs = append(errs, &Error{"WEBHOOK_URL", "is required when WEBHOOK_SECRET is set"})
	}

	cfg.DWSTimeZone = zone(get, "DWS_TIME_ZONE", &errs)
	cfg.DisplayTimeZone = zone(get, "DISPLAY_TIME_ZONE", &errs)

	for _, cidr := range strings.FieldsFunc(get("TRUSTED_PROXIES"), func(r rune) bool { return r == ',' || r == ' ' }) {
		_, ipnet, err := net.ParseCIDR(cidr)
		if err != nil {
			errs = append(errs, &Error{"TRUSTED_PROXIES", fmt.Sprintf("must be CIDRs separated by commas (e.g. 10.0.0.0/8,192.168.1.10/32), got %q", cidr)})
			continue
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, ipnet)
	}

	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// Warnings are the settings that Load accepts but that weaken security,
// each naming its variable like an Error; the program logs them at start.
func (c Config) Warnings() []string {
	var w []string
	if u, err := url.Parse(c.WebhookURL); c.WebhookURL != "" && err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		w = append(w, fmt.Sprintf("WEBHOOK_URL: plain http to %s, which is not this machine: notifications (request details, "+
			"justifications) cross the network unencrypted; use https", u.Hostname()))
	}
	return w
}

// isLoopback reports whether host names this machine: localhost,
// 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// MinPasswordLength is the shortest password the portal accepts.
const MinPasswordLength = 12

// RegionEndpoint is the public DWS endpoint of a region (dws-dr-api.md §6.6).
func RegionEndpoint(region string) string {
	switch region {
	case "cn-south-4", "cn-north-12", "cn-east-4", "tr-west-1", "ap-southeast-4":
		return "https://dws." + region + ".myhuaweicloud.cn"
	case "eu-west-101":
		return "https://dws." + region + ".myhuaweicloud.eu"
	}
	return "https://dws." + region + ".myhuaweicloud.com"
}

// zone reads an IANA time zone name (Asia/Shanghai, UTC); unset is UTC.
// "Local" is refused: it would depend on the host's settings.
func zone(get func(string) string, name string, errs *[]error) *time.Location {
	s := get(name)
	if s == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(s)
	if err != nil || s == "Local" {
		*errs = append(*errs, &Error{name, fmt.Sprintf("must be an IANA time zone name such as UTC or Asia/Shanghai, got %q", s)})
		return time.UTC
	}
	return loc
}

func duration(get func(string) string, name string, def, lo, hi time.Duration, errs *[]error) time.Duration {
	s := get(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < lo || d > hi {
		*errs = append(*errs, &Error{name, fmt.Sprintf("must be a duration between %s and %s (e.g. 30s, 2h), got %q", lo, hi, s)})
		return def
	}
	return d
}

func portSuffix(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" || port == "80" {
		return ""
	}
	return ":" + port
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
