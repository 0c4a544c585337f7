package dwssim

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Durations are the base durations of the asynchronous phases at speed 1;
// the simulator divides them by Options.Speed. A zero field takes its
// default (DefaultDurations).
type Durations struct {
	Creating   time.Duration // create: creating
	Starting   time.Duration // start: starting
	Stopping   time.Duration // pause: stopping
	Switchover time.Duration // switchover: switchovering
	Failover   time.Duration // failover: switchovering
	Recovery   time.Duration // recovery: starting
	Deleting   time.Duration // delete: deleting
}

// DefaultDurations returns the phase durations used at speed 1 when
// Options.Durations leaves a field zero.
func DefaultDurations() Durations {
	return Durations{
		Creating:   3 * time.Second,
		Starting:   3 * time.Second,
		Stopping:   2 * time.Second,
		Switchover: 4 * time.Second,
		Failover:   4 * time.Second,
		Recovery:   6 * time.Second,
		Deleting:   2 * time.Second,
	}
}

// DefaultSyncScale maps dr_sync_period to simulated time when
// Options.SyncScale is 0: a 5m period syncs every 5 s at speed 1.
const DefaultSyncScale = 1.0 / 60

// fields lists the durations by phase name, for validation and for
// command-line parsing.
func (d *Durations) fields() []struct {
	name string
	ptr  *time.Duration
} {
	return []struct {
		name string
		ptr  *time.Duration
	}{
		{"creating", &d.Creating}, {"starting", &d.Starting}, {"stopping", &d.Stopping},
		{"switchover", &d.Switchover}, {"failover", &d.Failover}, {"recovery", &d.Recovery},
		{"deleting", &d.Deleting},
	}
}

// Set sets the duration of a phase by its name: creating, starting,
// stopping, switchover, failover, recovery or deleting.
func (d *Durations) Set(phase string, v time.Duration) error {
	for _, f := range d.fields() {
		if f.name == phase {
			*f.ptr = v
			return nil
		}
	}
	return fmt.Errorf("unknown phase %q (creating, starting, stopping, switchover, failover, recovery, deleting)", phase)
}

// timing is the resolved, speed-scaled timing of a Simulator. It is fixed
// at New and shared read-only by every project.
type timing struct {
	phases        Durations // already divided by the speed
	syncScale     float64   // sync cycle = period × syncScale / speed
	speed         float64
	acceptanceLag time.Duration
}

// newTiming validates the timing options and applies the defaults.
func newTiming(opts Options, speed float64) (*timing, error) {
	tm := &timing{speed: speed, syncScale: opts.SyncScale, acceptanceLag: opts.AcceptanceLag}
	if tm.syncScale == 0 {
		tm.syncScale = DefaultSyncScale
	}
	if tm.syncScale < 0 || math.IsNaN(tm.syncScale) || math.IsInf(tm.syncScale, 0) {
		return nil, fmt.Errorf("dwssim: sync scale %v must be a positive number", opts.SyncScale)
	}
	if tm.acceptanceLag < 0 {
		return nil, fmt.Errorf("dwssim: acceptance lag %v must not be negative", opts.AcceptanceLag)
	}
	given, defaults := opts.Durations, DefaultDurations()
	df := defaults.fields()
	for i, f := range tm.phases.fields() {
		v := *given.fields()[i].ptr
		if v < 0 {
			return nil, fmt.Errorf("dwssim: %s duration %v must not be negative", f.name, v)
		}
		if v == 0 {
			v = *df[i].ptr
		}
		*f.ptr = time.Duration(float64(v) / speed)
	}
	return tm, nil
}

// cycle is the length of one sync cycle for a dr_sync_period. It is never
// below a nanosecond, so cycle arithmetic cannot divide by zero.
func (tm *timing) cycle(period time.Duration) time.Duration {
	return max(time.Duration(float64(period)*tm.syncScale/tm.speed), time.Nanosecond)
}

// parsePeriod turns a validated dr_sync_period ("5m", "3H", "2d") into a
// duration.
func parsePeriod(period string) time.Duration {
	m := periodRE.FindStringSubmatch(period)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[byte]time.Duration{'m': time.Minute, 'H': time.Hour, 'd': 24 * time.Hour}[period[len(period)-1]]
	return time.Duration(n) * unit
}
