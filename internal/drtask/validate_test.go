package drtask

import (
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"test_dr4", "dws-it-02", "abcd", "A" + strings.Repeat("b", 63)} {
		if msg := CheckName(ok); msg != "" {
			t.Errorf("CheckName(%q) = %q, want ok", ok, msg)
		}
	}
	for name, want := range map[string]string{
		"":                            "Enter a name",
		"abc":                         "has 3 characters",
		"a" + strings.Repeat("b", 64): "has 65 characters",
		"1abc":                        "start with a letter",
		"_abc":                        "start with a letter",
		"ab cd":                       "only letters, digits",
		"abcé":                        "only letters, digits",
		"ab.cd":                       "only letters, digits",
	} {
		if msg := CheckName(name); !strings.Contains(msg, want) {
			t.Errorf("CheckName(%q) = %q, want it to say %q", name, msg, want)
		}
	}
}

func TestTheNameLengthCountsCharactersNotBytes(t *testing.T) {
	for name, want := range map[string]string{
		// 32 characters (92 bytes): the fault is the characters.
		"Ab" + strings.Repeat("容", 30): "only letters, digits",
		// 64 characters (65 bytes) ending in é: the fault is the é.
		"A" + strings.Repeat("b", 62) + "é": "only letters, digits",
		// 3 characters (7 bytes): too short, counted in characters.
		"Aéé": "has 3 characters",
		// 65 characters (67 bytes).
		"A" + strings.Repeat("é", 2) + strings.Repeat("b", 62): "has 65 characters",
	} {
		if msg := CheckName(name); !strings.Contains(msg, want) {
			t.Errorf("CheckName(%q) = %q, want it to say %q", name, msg, want)
		}
	}
}

func TestCheckSyncPeriod(t *testing.T) {
	for _, ok := range []string{"1m", "5m", "20m", "2H", "3H", "1d", "3000m", "3000d"} {
		if msg := CheckSyncPeriod(ok); msg != "" {
			t.Errorf("CheckSyncPeriod(%q) = %q", ok, msg)
		}
	}
	for p, want := range map[string]string{
		"": "Enter a sync period", "5": "not a sync period", "5h": "not a sync period", "0m": "not a sync period",
		"05m": "not a sync period", "3001m": "above the maximum of 3000m", "9999d": "above the maximum",
		"10000m": "not a sync period", "5 m": "not a sync period", "m": "not a sync period",
	} {
		if msg := CheckSyncPeriod(p); !strings.Contains(msg, want) {
			t.Errorf("CheckSyncPeriod(%q) = %q, want %q", p, msg, want)
		}
	}
}

func TestFormValidate(t *testing.T) {
	good := CreateForm{Name: "dr_demo01", DRType: "az", PrimaryClusterID: "11111111-1111-1111-1111-111111111111",
		StandbyClusterID: "22222222-2222-2222-2222-222222222222", SyncPeriod: "5m", Justification: "quarterly DR drill"}
	if errs := good.Validate(); len(errs) != 0 {
		t.Fatalf("good form: %v", errs)
	}
	tests := map[string]struct {
		mutate func(*CreateForm)
		field  string
	}{
		"region type":      {func(f *CreateForm) { f.DRType = "region" }, FieldDRType},
		"missing type":     {func(f *CreateForm) { f.DRType = "" }, FieldDRType},
		"primary not id":   {func(f *CreateForm) { f.PrimaryClusterID = "abc" }, FieldPrimaryClusterID},
		"missing standby":  {func(f *CreateForm) { f.StandbyClusterID = "" }, FieldStandbyClusterID},
		"same cluster":     {func(f *CreateForm) { f.StandbyClusterID = strings.ToUpper(f.PrimaryClusterID) }, FieldStandbyClusterID},
		"bad bucket":       {func(f *CreateForm) { f.PrimaryOBSBucket = "Bad_Bucket" }, FieldPrimaryOBSBucket},
		"bucket dots":      {func(f *CreateForm) { f.StandbyOBSBucket = "a..b" }, FieldStandbyOBSBucket},
		"bad period":       {func(f *CreateForm) { f.SyncPeriod = "5s" }, FieldSyncPeriod},
		"no justification": {func(f *CreateForm) { f.Justification = " " }, FieldJustification},
	}
	for name, tt := range tests {
		f := good
		tt.mutate(&f)
		errs := f.Validate()
		if len(errs) != 1 || errs[tt.field] == "" {
			t.Errorf("%s: errors %v, want exactly one on %s", name, errs, tt.field)
		}
	}
	f := CreateForm{Name: "  dr_x1 ", SyncPeriod: " 5m\t"}
	f.Trim()
	if f.Name != "dr_x1" || f.SyncPeriod != "5m" {
		t.Errorf("Trim: %+v", f)
	}
}

// TestAnErrorMessageQuotesAtMost40CharactersOfWhatWasTyped: a sync period
// (or its number) of thousands of characters is quoted back by its error
// message cut to MaxQuoted characters and marked "…", so the message does
// not grow with what was typed; a short one is quoted whole.
func TestAnErrorMessageQuotesAtMost40CharactersOfWhatWasTyped(t *testing.T) {
	long := strings.Repeat("9", 5000) + "\u202e<b>x"
	_, joined := JoinSyncPeriod(long, "m")
	for what, msg := range map[string]string{"JoinSyncPeriod": joined, "CheckSyncPeriod": CheckSyncPeriod(long)} {
		if strings.Contains(msg, strings.Repeat("9", MaxQuoted+1)) || !strings.Contains(msg, `"`+strings.Repeat("9", MaxQuoted)+`…"`) ||
			strings.Contains(msg, "\u202e") || len(msg) > 200 {
			t.Errorf("%s quotes %d bytes: %.120q", what, len(msg), msg)
		}
	}
	if _, msg := JoinSyncPeriod("0x5", "m"); !strings.HasPrefix(msg, `"0x5" is not`) {
		t.Errorf("a short number is quoted as %q", msg)
	}
}
