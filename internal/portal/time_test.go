package portal

import (
	"strings"
	"testing"
	"time"
)

func TestAZoneLessDRTimeIsReadInTheConfiguredZone(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := ParseTime("2023-04-28T09:23:38", shanghai)
	if want := time.Date(2023, 4, 28, 1, 23, 38, 0, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("2023-04-28T09:23:38 in Asia/Shanghai read as %v (ok %v), want %v (+08:00)", got, ok, want)
	}
	if got, ok := ParseTime("2023-04-28T09:23:38", nil); !ok || !got.Equal(time.Date(2023, 4, 28, 9, 23, 38, 0, time.UTC)) {
		t.Errorf("with no zone configured, read as %v, want UTC", got)
	}
}

func TestADRTimeWithAnOffsetIsReadAsGiven(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]time.Time{
		"2023-04-28T09:23:38+02:00": time.Date(2023, 4, 28, 7, 23, 38, 0, time.UTC),
		"2023-04-28T09:23:38Z":      time.Date(2023, 4, 28, 9, 23, 38, 0, time.UTC),
		"2023-04-28T09:23:38.5Z":    time.Date(2023, 4, 28, 9, 23, 38, 5e8, time.UTC),
		"2023-04-28 09:23:38+08:00": time.Date(2023, 4, 28, 1, 23, 38, 0, time.UTC),
	} {
		if got, ok := ParseTime(s, shanghai); !ok || !got.Equal(want) {
			t.Errorf("%s read as %v (ok %v), want %v whatever the assumed zone", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "null", "yesterday", "2023-13-01T00:00:00"} {
		if _, ok := ParseTime(s, shanghai); ok {
			t.Errorf("%q parsed", s)
		}
	}
}

func TestTimesAreShownInTheDisplayZoneNamingIt(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)
	if got := FormatTime(at, nil); got != "2026-12-01 18:00:00 UTC" {
		t.Errorf("UTC: %q", got)
	}
	if got := FormatTime(at, shanghai); got != "2026-12-02 02:00:00 Asia/Shanghai" {
		t.Errorf("Asia/Shanghai: %q", got)
	}
	if FormatTime(time.Time{}, shanghai) != "" {
		t.Error("the zero time is shown")
	}
}

func TestTheFailoverConsequenceNamesTheZoneOfTheLastSync(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	tk := task(TaskAbnormal, "p")
	tk.Standby.LastSuccessTime = "2023-04-28T09:23:38"
	if fo := Consequence(OpFailover, tk, nil, "", TimeZones{DWS: shanghai}); !strings.Contains(fo, "the last successful sync at 2023-04-28 01:23:38 UTC") {
		t.Errorf("failover consequence %q: the sync at 09:23:38 +08:00 is 01:23:38 UTC", fo)
	}
	if fo := Consequence(OpFailover, tk, nil, "", TimeZones{DWS: shanghai, Display: shanghai}); !strings.Contains(fo, "at 2023-04-28 09:23:38 Asia/Shanghai") {
		t.Errorf("failover consequence %q, shown in Asia/Shanghai", fo)
	}
}
