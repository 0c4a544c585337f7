package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"time"

	"drportal/internal/apperr"
)

// Writer stores one event in a transaction of its own. *db.Store is one.
type Writer interface {
	AppendAudit(ctx context.Context, e Event) (Event, error)
}

// ChainReader reads the stored chain. *db.Store is one.
type ChainReader interface {
	// AuditEvents yields the events after afterID through throughID (0: to
	// the end), oldest first.
	AuditEvents(ctx context.Context, afterID, throughID int64) iter.Seq2[Event, error]
	// Checkpoints lists the archive checkpoints, newest first.
	Checkpoints(ctx context.Context) ([]Checkpoint, error)
}

// Store is the storage the review needs. *db.Store is one.
type Store interface {
	Writer
	ChainReader
	// LastAuditIDBefore returns the id of the newest event older than t
	// (0: none).
	LastAuditIDBefore(ctx context.Context, t time.Time) (int64, error)
	// ArchiveAudit records cp, removes the events it covers and appends e,
	// in one transaction; it returns the number of events removed.
	ArchiveAudit(ctx context.Context, cp Checkpoint, e Event) (int64, error)
	// LockArchiving makes the caller the only archiver until release is
	// called, on every replica; ok is false when another archive runs.
	LockArchiving(ctx context.Context) (release func(), ok bool, err error)
}

// Checkpoint records archived history: the chain continues from
// ThroughID and ThroughHash.
type Checkpoint struct {
	ThroughID   int64
	ThroughHash []byte
	FirstID     int64
	Events      int64
	FileName    string
	FileSHA256  []byte
	CreatedBy   int64
	CreatedAt   time.Time
}

// VerifyChain recomputes the stored chain from fromID to toID (0: from the
// start, to the end) with Verify, streaming the events. The first event
// must follow the one before it (or the newest checkpoint, or the genesis)
// and no id may be missing.
func VerifyChain(ctx context.Context, r ChainReader, fromID, toID int64) (Report, error) {
	start := Genesis
	cps, err := r.Checkpoints(ctx)
	if err != nil {
		return Report{}, err
	}
	if len(cps) > 0 {
		start = Link{ID: cps[0].ThroughID, Hash: cps[0].ThroughHash}
	}
	if fromID > start.ID+1 {
		// A range check starts from the stored hash of the event before it.
		start = Link{ID: fromID - 1}
		for e, err := range r.AuditEvents(ctx, fromID-2, fromID-1) {
			if err != nil {
				return Report{}, err
			}
			start.Hash = e.Hash
		}
		if start.Hash == nil {
			return Report{BrokenAt: start.ID, Problem: fmt.Sprintf("event %d is missing", start.ID)}, nil
		}
	}
	return Verify(r.AuditEvents(ctx, start.ID, toID), Expect{After: &start})
}

// Service is the team's audit review: verifying the stored chain and
// archiving old history to files with a checkpoint that keeps the rest of
// the chain verifiable.
type Service struct {
	Store Store
	Now   func() time.Time
	// ArchiveDir is where archived history is written.
	ArchiveDir string
}

// Verify recomputes the chain (fromID..toID, 0 for the ends) and records
// that it did, with the result.
func (s *Service) Verify(ctx context.Context, fromID, toID int64) (Report, error) {
	start := time.Now()
	rep, err := VerifyChain(ctx, s.Store, fromID, toID)
	if err != nil {
		return rep, err
	}
	if rep.BrokenAt == 0 {
		if rep.BrokenAt, rep.Problem, err = s.checkArchives(ctx); err != nil {
			return rep, err
		}
	}
	outcome := Success
	if rep.BrokenAt != 0 {
		outcome = Failure
	}
	e := FromContext(ctx, ActionVerify, outcome)
	e.OccurredAt = s.Now()
	e.SubjectType = SubjectAudit
	e.Detail = Detail(map[string]any{"from_id": fromID, "to_id": toID, "checked": rep.Checked,
		"first_id": rep.FirstID, "last_id": rep.LastID, "broken_at": rep.BrokenAt, "problem": rep.Problem,
		"duration_ms": time.Since(start).Milliseconds()})
	_, err = s.Store.AppendAudit(context.WithoutCancel(ctx), e)
	return rep, err
}

// checkArchives checks the file of every checkpoint: it is there, it
// verifies on its own, and its last event is the one the checkpoint
// continues the chain from. A missing or altered file breaks the chain at
// its checkpoint: the history it held can no longer be shown intact.
func (s *Service) checkArchives(ctx context.Context) (brokenAt int64, problem string, err error) {
	if s.ArchiveDir == "" {
		return 0, "", nil
	}
	cps, err := s.Store.Checkpoints(ctx)
	if err != nil {
		return 0, "", err
	}
	for _, cp := range cps {
		f, err := os.Open(filepath.Join(s.ArchiveDir, cp.FileName))
		if err != nil {
			return cp.ThroughID, fmt.Sprintf("the archive file %s of events %d to %d cannot be read: %v", cp.FileName, cp.FirstID, cp.ThroughID, err), nil
		}
		rep, err := VerifyFile(f)
		f.Close()
		switch {
		case err != nil || rep.Problem != "":
			return cp.ThroughID, fmt.Sprintf("the archive file %s does not verify: %s%v", cp.FileName, rep.Problem, errOrEmpty(err)), nil
		case rep.Manifest.LastID != cp.ThroughID || !strings.EqualFold(rep.Manifest.LastHash, hex.EncodeToString(cp.ThroughHash)):
			return cp.ThroughID, fmt.Sprintf("the archive file %s ends at event %d (%s), but its checkpoint continues from event %d (%x)",
				cp.FileName, rep.Manifest.LastID, rep.Manifest.LastHash, cp.ThroughID, cp.ThroughHash), nil
		}
	}
	return 0, "", nil
}

func errOrEmpty(err error) any {
	if err == nil {
		return ""
	}
	return err
}

// Archivist is who asks for an archive, as the caller's authorisation
// sees them (this package cannot ask the auth package: auth imports the
// store, which imports this package).
type Archivist struct {
	ID    int64 // the user, recorded on the checkpoint
	Admin bool  // an active admin: only they may archive
}

// ArchiveResult says what an archive did.
type ArchiveResult struct {
	File    string
	FirstID int64
	LastID  int64
	Events  int64
}

// Archive moves the events older than olderThan into an NDJSON file with
// its manifest, records a checkpoint with the last archived hash, and
// removes the archived events, all audited. Only admins may; a broken chain
// is not archived (it would hide the evidence).
func (s *Service) Archive(ctx context.Context, by Archivist, olderThan time.Duration) (ArchiveResult, error) {
	if !by.Admin {
		return ArchiveResult{}, apperr.Deny(apperr.Forbidden, ReasonRole, "Only admins archive audit history.")
	}
	if olderThan < 24*time.Hour {
		return ArchiveResult{}, apperr.New(apperr.Invalid, "Archive events older than a day at least.")
	}
	// One archive at a time: two at once would pick the same range and
	// file, and the loser's clean-up could remove the winner's committed file.
	release, ok, err := s.Store.LockArchiving(ctx)
	if err != nil {
		return ArchiveResult{}, err
	}
	if !ok {
		return ArchiveResult{}, apperr.New(apperr.Conflict, "Another archive is running; try again once it has finished. Nothing was changed.")
	}
	defer release()
	through, err := s.Store.LastAuditIDBefore(ctx, s.Now().Add(-olderThan))
	if err != nil {
		return ArchiveResult{}, err
	}
	if through == 0 {
		return ArchiveResult{}, apperr.New(apperr.Invalid, "No event is older than %s: nothing to archive.", olderThan)
	}
	rep, err := VerifyChain(ctx, s.Store, 0, through)
	if err != nil {
		return ArchiveResult{}, err
	}
	if rep.BrokenAt != 0 {
		return ArchiveResult{}, apperr.New(apperr.Conflict, "The history does not verify (%s); it is not archived.", rep.Problem)
	}
	if rep.Checked == 0 {
		return ArchiveResult{}, apperr.New(apperr.Invalid, "Everything that old is archived already.")
	}
	if err := os.MkdirAll(s.ArchiveDir, 0o750); err != nil {
		return ArchiveResult{}, fmt.Errorf("archive dir: %w", err)
	}
	name := fmt.Sprintf("audit-%012d-%012d.ndjson", rep.FirstID, rep.LastID)
	final := filepath.Join(s.ArchiveDir, name)
	tmp, err := os.CreateTemp(s.ArchiveDir, name+".*.tmp")
	if err != nil {
		return ArchiveResult{}, fmt.Errorf("archive file: %w", err)
	}
	defer os.Remove(tmp.Name())
	sum := sha256.New()
	x, err := NewExporter(io.MultiWriter(tmp, sum), FormatNDJSON,
		map[string]string{"through_id": fmt.Sprint(rep.LastID)}, s.Now())
	if err != nil {
		return ArchiveResult{}, err
	}
	var lastHash []byte
	for e, rerr := range s.Store.AuditEvents(ctx, rep.FirstID-1, rep.LastID) {
		if rerr == nil {
			lastHash = e.Hash
			rerr = x.Write(e)
		}
		if err = rerr; err != nil {
			break
		}
	}
	if err == nil {
		err = x.Close()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ArchiveResult{}, fmt.Errorf("write archive: %w", err)
	}
	if got := x.Manifest().Count; got != rep.Checked {
		return ArchiveResult{}, fmt.Errorf("archive wrote %d events, expected %d", got, rep.Checked)
	}
	// Link, not rename: an existing file of that name (another archive's)
	// is never replaced.
	if err := os.Link(tmp.Name(), final); err != nil {
		return ArchiveResult{}, fmt.Errorf("archive file: %w", err)
	}
	fileSum := sum.Sum(nil)
	e := FromContext(ctx, ActionArchive, Success)
	e.OccurredAt = s.Now()
	e.SubjectType = SubjectAudit
	e.Detail = Detail(map[string]any{"file": name, "first_id": rep.FirstID, "through_id": rep.LastID,
		"events": rep.Checked, "file_sha256": fmt.Sprintf("%x", fileSum), "older_than": olderThan.String()})
	_, err = s.Store.ArchiveAudit(ctx, Checkpoint{ThroughID: rep.LastID, ThroughHash: lastHash, FirstID: rep.FirstID,
		Events: rep.Checked, FileName: name, FileSHA256: fileSum, CreatedBy: by.ID, CreatedAt: s.Now()}, e)
	if err != nil {
		// Nothing committed names the file this archive wrote: remove it.
		os.Remove(final)
		return ArchiveResult{}, err
	}
	return ArchiveResult{File: final, FirstID: rep.FirstID, LastID: rep.LastID, Events: rep.Checked}, nil
}
