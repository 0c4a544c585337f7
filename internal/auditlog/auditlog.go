// Package auditlog is the team's audit review: verifying the stored chain,
// exporting what a filter selects, and archiving old history to files with
// a checkpoint that keeps the rest of the chain verifiable.
package auditlog

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// Audit actions of the review itself.
const (
	ActionVerify  = "audit.verify"
	ActionArchive = "audit.archive"
)

// Service verifies and archives the audit history.
type Service struct {
	Store *db.Store
	Now   func() time.Time
	// ArchiveDir is where archived history is written.
	ArchiveDir string
}

// Verify recomputes the chain (fromID..toID, 0 for the ends) and records
// that it did, with the result.
func (s *Service) Verify(ctx context.Context, fromID, toID int64) (audit.Report, error) {
	start := time.Now()
	rep, err := s.Store.VerifyAuditChain(ctx, fromID, toID)
	if err != nil {
		return rep, err
	}
	outcome := audit.Success
	if rep.BrokenAt != 0 {
		outcome = audit.Failure
	}
	e := audit.FromContext(ctx, ActionVerify, outcome)
	e.OccurredAt = s.Now()
	e.SubjectType = audit.SubjectAudit
	e.Detail = audit.Detail(map[string]any{"from_id": fromID, "to_id": toID, "checked": rep.Checked,
		"first_id": rep.FirstID, "last_id": rep.LastID, "broken_at": rep.BrokenAt, "problem": rep.Problem,
		"duration_ms": time.Since(start).Milliseconds()})
	_, err = s.Store.AppendAudit(context.WithoutCancel(ctx), e)
	return rep, err
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
func (s *Service) Archive(ctx context.Context, u portal.User, olderThan time.Duration) (ArchiveResult, error) {
	if !u.Has(portal.RoleAdmin) || !u.Active {
		return ArchiveResult{}, apperr.New(apperr.Forbidden, "Only admins archive audit history.")
	}
	if olderThan < 24*time.Hour {
		return ArchiveResult{}, apperr.New(apperr.Invalid, "Archive events older than a day at least.")
	}
	through, err := s.Store.LastAuditIDBefore(ctx, s.Now().Add(-olderThan))
	if err != nil {
		return ArchiveResult{}, err
	}
	if through == 0 {
		return ArchiveResult{}, apperr.New(apperr.Invalid, "No event is older than %s: nothing to archive.", olderThan)
	}
	rep, err := s.Store.VerifyAuditChain(ctx, 0, through)
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
	x, err := audit.NewExporter(io.MultiWriter(tmp, sum), audit.FormatNDJSON,
		map[string]string{"through_id": fmt.Sprint(rep.LastID)}, s.Now())
	if err != nil {
		return ArchiveResult{}, err
	}
	var lastHash []byte
	err = s.Store.StreamAudit(ctx, db.AuditFilter{After: rep.FirstID - 1, Before: rep.LastID + 1}, func(e audit.Event) error {
		lastHash = e.Hash
		return x.Write(e)
	})
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
	if err := os.Rename(tmp.Name(), final); err != nil {
		return ArchiveResult{}, fmt.Errorf("archive file: %w", err)
	}
	e := audit.FromContext(ctx, ActionArchive, audit.Success)
	e.OccurredAt = s.Now()
	e.SubjectType = audit.SubjectAudit
	e.Detail = audit.Detail(map[string]any{"file": name, "first_id": rep.FirstID, "through_id": rep.LastID,
		"events": rep.Checked, "file_sha256": fmt.Sprintf("%x", sum.Sum(nil)), "older_than": olderThan.String()})
	_, err = s.Store.ArchiveAudit(ctx, db.Checkpoint{ThroughID: rep.LastID, ThroughHash: lastHash, FirstID: rep.FirstID,
		Events: rep.Checked, FileName: name, FileSHA256: sumOf(sum), CreatedBy: u.ID, CreatedAt: s.Now()}, e)
	if err != nil {
		os.Remove(final)
		return ArchiveResult{}, err
	}
	return ArchiveResult{File: final, FirstID: rep.FirstID, LastID: rep.LastID, Events: rep.Checked}, nil
}

func sumOf(h hash.Hash) []byte { return h.Sum(nil) }
