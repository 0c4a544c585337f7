package jobs

import (
	"context"
	"log/slog"
)

// routineAtDebug passes the job queue's log lines on with its routine
// chatter (River's info lines: a producer's job counts every 5 seconds,
// elections, starts and stops) lowered to debug, so that a console at info
// level keeps what a person must read (the first admin's one-time
// password) on screen. Warnings and errors pass as they are.
type routineAtDebug struct{ next slog.Handler }

func (h routineAtDebug) lowered(l slog.Level) slog.Level {
	if l < slog.LevelWarn {
		return slog.LevelDebug
	}
	return l
}

func (h routineAtDebug) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, h.lowered(l))
}

func (h routineAtDebug) Handle(ctx context.Context, r slog.Record) error {
	r.Level = h.lowered(r.Level)
	return h.next.Handle(ctx, r)
}

func (h routineAtDebug) WithAttrs(as []slog.Attr) slog.Handler {
	return routineAtDebug{h.next.WithAttrs(as)}
}

func (h routineAtDebug) WithGroup(name string) slog.Handler {
	return routineAtDebug{h.next.WithGroup(name)}
}
