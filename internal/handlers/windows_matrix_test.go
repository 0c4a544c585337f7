package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"drportal/internal/db"
	"drportal/internal/portal"
)

// windowForm adds a window of recovery that no earlier call added.
func (fx *matrixFixture) windowForm() url.Values {
	n := fx.next() % 600
	return url.Values{"operation": {"recovery"}, "window": {fmt.Sprintf("Sun %02d:%02d-23:30 UTC", n/60, n%60)}}
}

// freezeForm adds a freeze far ahead: nothing the matrix files runs into it.
func (fx *matrixFixture) freezeForm() url.Values {
	start := time.Now().UTC().AddDate(1, 0, fx.next())
	return url.Values{"reason": {"matrix freeze"}, "starts": {start.Format("2006-01-02T15:04")},
		"ends": {start.Add(time.Hour).Format("2006-01-02T15:04")}}
}

// window stores a window of delete and returns its id.
func (fx *matrixFixture) window() int64 {
	fx.t.Helper()
	ctx := context.Background()
	var w portal.Window
	err := fx.e.store.InTx(ctx, func(tx *db.Tx) (err error) {
		w, err = tx.InsertWindow(ctx, portal.Window{Operation: portal.OpDelete, Days: portal.AllWeek, Start: fx.next() % 600, End: 1400, Zone: "UTC"},
			fx.admin2.ID, time.Now())
		return err
	})
	if err != nil {
		fx.t.Fatal(err)
	}
	return w.ID
}

// freeze stores a freeze far ahead and returns its id.
func (fx *matrixFixture) freeze() int64 {
	fx.t.Helper()
	ctx := context.Background()
	start := time.Now().AddDate(2, 0, fx.next())
	var f portal.Freeze
	err := fx.e.store.InTx(ctx, func(tx *db.Tx) (err error) {
		f, err = tx.InsertFreeze(ctx, portal.Freeze{Start: start, End: start.Add(time.Hour), Reason: "matrix freeze"}, fx.admin2.ID, time.Now())
		return err
	})
	if err != nil {
		fx.t.Fatal(err)
	}
	return f.ID
}
