package config

import "runtime/debug"

// GCPercent is the Go collector's target the portal runs with when GOGC
// does not say otherwise. It trades memory for CPU: a page allocates
// little that survives, and collecting at five times the live heap instead
// of twice cuts the collector's share of two cores. make bench serves its
// pages with it too (it used Go's default of 100, which is not what the
// portal runs with); the memory budgets are met with it.
// GOMEMLIMIT, read by the runtime, still caps the heap.
const GCPercent = 400

// TuneGC sets the collector's target to GCPercent unless GOGC is set.
func TuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
}
