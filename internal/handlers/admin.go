package handlers

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/portal"
	"drportal/internal/views"
)

func roleBoxes(checked []string) []views.RoleBox {
	var out []views.RoleBox
	for _, r := range auth.AllRoles {
		out = append(out, views.RoleBox{Name: string(r), Checked: slices.Contains(checked, string(r))})
	}
	return out
}

func (h *Handlers) usersPage(c echo.Context, status int, form views.NewUserForm, errs map[string]string, flash, errMsg string) error {
	return h.renderUsers(c, status, views.UsersPage{Form: form, Errors: errs, Flash: flash, Error: errMsg})
}

// renderUsers fills the user list of p and renders it.
func (h *Handlers) renderUsers(c echo.Context, status int, p views.UsersPage) error {
	ctx := c.Request().Context()
	users, err := h.Store.ListUsers(ctx)
	if err != nil {
		return err
	}
	me := user(c)
	p.Base = h.base(c, "Users", "admin")
	atPage(c, "/admin/users")
	if p.Form.Roles == nil {
		p.Form.Roles = roleBoxes(nil) // nothing granted unless ticked
	}
	changes, err := h.Store.PendingAdminChanges(ctx)
	if err != nil {
		return err
	}
	waiting := map[int64][]portal.Role{}
	for _, ch := range changes {
		if ch.Kind == portal.ChangeBreakGlass {
			// Listed where the header's Admin link leads, too.
			row, err := h.breakGlassChange(ctx, ch, me.ID)
			if err != nil {
				return err
			}
			p.Changes = append(p.Changes, row)
		}
		if ch.Kind == portal.ChangeRoles {
			waiting[ch.UserID] = ch.Grant
			row := h.changeRow(ch, me.ID, portal.Policy{})
			if row.Warnings, err = h.grantWarnings(ctx, ch, me.ID); err != nil {
				return err
			}
			p.Changes = append(p.Changes, row)
		}
	}
	for _, u := range users {
		row := views.UserRow{ID: strconv.FormatInt(u.ID, 10), Email: u.Email, Name: u.DisplayName,
			Roles: roleBoxes(u.RoleNames()), Active: u.Active, Self: u.ID == me.ID, MustChange: u.MustChangePassword}
		if held := auth.PrivilegedRoles(u); len(held) > 0 {
			row.Privileged = portal.RolePhrase(held)
		}
		// A role waiting for a second admin is not theirs yet: it shows
		// unticked and marked, and saving the row again keeps it waiting.
		for i, box := range row.Roles {
			if slices.Contains(waiting[u.ID], portal.Role(box.Name)) {
				row.Roles[i].Checked, row.Roles[i].Waiting = false, true
			}
		}
		p.Users = append(p.Users, row)
	}
	if p.Admins, err = h.Store.CountActiveAdmins(ctx); err != nil {
		return err
	}
	if p.HadTwoAdmins, err = h.Store.HadTwoAdmins(ctx); err != nil {
		return err
	}
	if p.Decided, err = h.decidedChanges(ctx, portal.ChangeRoles, portal.Policy{}); err != nil {
		return err
	}
	return h.render(c, status, views.Users(p))
}

// recentDecided is how many decided admin changes a page lists.
const recentDecided = 10

// decidedChanges describes the latest changes of kind that no longer wait;
// a policy change is shown as its differences from cur.
func (h *Handlers) decidedChanges(ctx context.Context, kind portal.ChangeKind, cur portal.Policy) ([]views.DecidedChange, error) {
	cs, err := h.Store.RecentAdminChanges(ctx, kind, recentDecided)
	if err != nil {
		return nil, err
	}
	var out []views.DecidedChange
	for _, ch := range cs {
		d := views.DecidedChange{ID: strconv.FormatInt(ch.ID, 10), ProposedBy: ch.ProposedByEmail,
			ProposedAt: h.formatTime(ch.ProposedAt), DecidedBy: ch.DecidedByEmail, DecidedAt: h.formatTime(ch.DecidedAt),
			Reason: ch.Comment, Outcome: string(ch.Status), Class: "idle"}
		switch ch.Status {
		case portal.ChangeApplied:
			d.Outcome, d.Class = "approved and applied", "ok"
		case portal.ChangeRejected:
			d.Class = "bad"
		case portal.ChangeSuperseded:
			d.Outcome = "replaced"
		}
		switch ch.Kind {
		case portal.ChangeRoles:
			d.Summary = fmt.Sprintf("Give %s %s.", ch.UserEmail, portal.RolePhrase(ch.Grant))
		case portal.ChangeBreakGlass:
			d.Summary = "Break-glass settings: " + ch.BreakGlass.Describe()
		case portal.ChangeWindows:
			d.Summary = ch.Windows.Describe(h.displayZone())
		case portal.ChangePolicy:
			var parts []string
			for _, op := range portal.Operations {
				parts = append(parts, fmt.Sprintf("%s %d", op.Label(), ch.Policy.Approvals[op]))
			}
			d.Summary = fmt.Sprintf("Approval policy: %s; pending requests expire after %s, approvals lapse after %s.",
				strings.Join(parts, ", "), portal.FormatDuration(ch.Policy.PendingTTL), portal.FormatDuration(ch.Policy.ApprovalTTL))
		}
		out = append(out, d)
	}
	return out, nil
}

// grantWarnings is what an admin deciding a grant of approver or admin
// should know first: the proposer, or the viewer, set the account's
// password for its owner to replace (creating the account or resetting
// it), so they could have signed in with it and chosen the one in use.
func (h *Handlers) grantWarnings(ctx context.Context, ch portal.AdminChange, viewer int64) ([]string, error) {
	// The roles that act without a second person's say (approver, admin,
	// responder) are the ones a known password must not reach.
	if len(auth.PrivilegedRoles(portal.User{Roles: ch.Grant})) == 0 {
		return nil, nil
	}
	var out []string
	if u, err := h.Store.UserByEmail(ctx, ch.UserEmail); err != nil {
		return nil, err
	} else if u.MustChangePassword {
		out = append(out, fmt.Sprintf("%s still has a temporary password an admin set: approving is refused until they sign in and choose their own.", ch.UserEmail))
	}
	tp, ok, err := h.Store.LastTemporaryPassword(ctx, ch.UserEmail)
	if err != nil || !ok || (tp.By.ID != ch.ProposedBy && tp.By.ID != viewer) {
		return out, err
	}
	how := "reset the password of"
	if tp.Action == audit.ActionUserCreated {
		how = "chose the first password of"
	}
	if viewer == ch.ProposedBy {
		// The warning is for the admin who decides: the proposer is told
		// what that admin reads.
		return append(out, fmt.Sprintf("The approving admin is warned that you %s %s at %s, so could have signed in with it, "+
			"and asked to make sure with %s that it was them.", how, ch.UserEmail, h.formatTime(tp.At), ch.UserEmail)), nil
	}
	who := tp.By.Name
	if tp.By.ID == viewer {
		who = "You"
	}
	return append(out, fmt.Sprintf("%s %s %s at %s, so could have signed in with it and chosen the password in use. "+
		"Make sure with %s that it was them before giving this role.", who, how, ch.UserEmail, h.formatTime(tp.At), ch.UserEmail)), nil
}

// atPage has a page shown in answer to a form (a refusal shown on the
// page) take the page's own address in the browser's history, so that a
// reload shows the page instead of posting again or finding nothing.
func atPage(c echo.Context, path string) {
	if c.Request().Method == http.MethodPost {
		c.Response().Header().Set("HX-Replace-Url", path)
	}
}

// changeRow describes a waiting admin change; a policy change is shown as
// its differences from cur, the policy in effect.
func (h *Handlers) changeRow(ch portal.AdminChange, viewer int64, cur portal.Policy) views.ChangeRow {
	row := views.ChangeRow{ID: strconv.FormatInt(ch.ID, 10), ProposedBy: ch.ProposedByEmail,
		ProposedAt: h.formatTime(ch.ProposedAt), Mine: ch.ProposedBy == viewer}
	switch ch.Kind {
	case portal.ChangeRoles:
		row.Summary = fmt.Sprintf("Give %s %s.", ch.UserEmail, portal.RolePhrase(ch.Grant))
	case portal.ChangeWindows:
		row.Summary = ch.Windows.Describe(h.displayZone())
	case portal.ChangePolicy:
		p := ch.Policy
		row.Summary = fmt.Sprintf("A new approval policy, changing version %d:", cur.Version)
		for _, op := range portal.Operations {
			if from, to := cur.Approvals[op], p.Approvals[op]; from != to {
				row.Lines = append(row.Lines, fmt.Sprintf("%s: %d → %d %s", op.Label(), from, to, plural(to, "approval", "approvals")))
			}
		}
		if p.PendingTTL != cur.PendingTTL {
			row.Lines = append(row.Lines, fmt.Sprintf("a pending request expires after %s → %s", portal.FormatDuration(cur.PendingTTL), portal.FormatDuration(p.PendingTTL)))
		}
		if p.ApprovalTTL != cur.ApprovalTTL {
			row.Lines = append(row.Lines, fmt.Sprintf("an approval lapses after %s → %s", portal.FormatDuration(cur.ApprovalTTL), portal.FormatDuration(p.ApprovalTTL)))
		}
		if len(row.Lines) == 0 {
			row.Lines = append(row.Lines, "nothing: it is the policy in effect")
		}
	case portal.ChangeBreakGlass:
		row.Summary = "New break-glass settings: " + ch.BreakGlass.Describe()
	}
	return row
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (h *Handlers) listUsers(c echo.Context) error {
	return h.usersPage(c, http.StatusOK, views.NewUserForm{}, nil, h.takeNote(c), "")
}

// roleChangeNote says what happened to an account's roles.
func roleChangeNote(rc auth.RoleChange) string {
	var parts []string
	if len(rc.Removed) > 0 {
		parts = append(parts, "took away "+roleList(rc.Removed))
	}
	if len(rc.Granted) > 0 {
		parts = append(parts, "gave "+roleList(rc.Granted)+" (at once: you are the only admin)")
	}
	if len(rc.Waiting) > 0 {
		parts = append(parts, roleList(rc.Waiting)+" waiting for another admin's approval")
	}
	if rc.Withdrawn != 0 {
		parts = append(parts, fmt.Sprintf("withdrew the grant that was waiting (change #%d)", rc.Withdrawn))
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, "; ")
}

func roleList(rs []portal.Role) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

func (h *Handlers) createUser(c echo.Context) error {
	form, _ := c.FormParams()
	n := auth.NewUser{Email: form.Get("email"), DisplayName: form.Get("display_name"), Password: form.Get("password"), Roles: form["roles"]}
	rc, errs, err := h.Auth.CreateUser(c.Request().Context(), *user(c), n)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return h.usersPage(c, http.StatusUnprocessableEntity,
			views.NewUserForm{Email: n.Email, DisplayName: n.DisplayName, Roles: roleBoxes(n.Roles)}, errs, "", "")
	}
	return h.redirectWithNote(c, "/admin/users", fmt.Sprintf("Created %s: %s.", rc.User.Email, roleChangeNote(rc)))
}

func adminUserID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.New(apperr.NotFound, "There is no such user.")
	}
	return id, nil
}

// adminResult answers a change: back to the list with a note, or the list
// with the refusal and nothing changed.
func (h *Handlers) adminResult(c echo.Context, done string, err error) error {
	switch k := apperr.KindOf(err); k {
	case apperr.Conflict, apperr.Invalid:
		status, _ := h.shownAgain(c, err)
		return h.usersPage(c, status, views.NewUserForm{}, nil, "", apperr.Message(err))
	}
	if err != nil {
		return err
	}
	return h.redirectWithNote(c, "/admin/users", done)
}

func (h *Handlers) setUserRoles(c echo.Context) error {
	id, err := adminUserID(c)
	if err != nil {
		return err
	}
	form, _ := c.FormParams()
	rc, err := h.Auth.SetRoles(c.Request().Context(), *user(c), id, form["roles"])
	return h.adminResult(c, fmt.Sprintf("Roles of %s: %s.", rc.User.Email, roleChangeNote(rc)), err)
}

// confirmed says the form was the confirmation page's: a deactivation or
// a reset asked for any other way (an old page, a crafted post) goes to
// that page first, and nothing changes.
func confirmed(c echo.Context) bool { return c.FormValue("confirm") == "yes" }

func (h *Handlers) setUserActive(c echo.Context) error {
	id, err := adminUserID(c)
	if err != nil {
		return err
	}
	active, perr := strconv.ParseBool(c.FormValue("active"))
	if perr != nil {
		return apperr.New(apperr.Invalid, "active must be true or false.")
	}
	if !active && !confirmed(c) {
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/users/%d/deactivate", id))
	}
	u, err := h.Auth.SetActive(c.Request().Context(), *user(c), id, active)
	done := fmt.Sprintf("Deactivated %s and ended their sessions.", u.Email)
	if active {
		done = fmt.Sprintf("Reactivated %s.", u.Email)
	}
	return h.adminResult(c, done, err)
}

// confirmDeactivate asks before a deactivation, saying what it ends. It
// only reads.
func (h *Handlers) confirmDeactivate(c echo.Context) error {
	u, sessions, err := h.confirmTarget(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := views.ConfirmUserPage{Base: h.base(c, "Deactivate "+u.Email, "admin"), Heading: "Deactivate " + nameOf(u) + "?",
		Action: fmt.Sprintf("/admin/users/%d/active", u.ID), Active: "false", Button: "Deactivate " + u.Email}
	switch {
	case u.ID == user(c).ID:
		p.Refused = "You cannot deactivate your own account."
	case !u.Active:
		p.Refused = u.Email + " is already deactivated."
	}
	p.Effects = append(p.Effects, fmt.Sprintf("%s can no longer sign in, and %s.", u.Email, sessionPhrase(sessions)))
	pending, err := h.Store.ListRequests(ctx, db.RequestFilter{RequesterID: u.ID, Status: portal.StatusPending}, 100)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		ids := make([]string, len(pending))
		for i, r := range pending {
			ids[i] = fmt.Sprintf("#%d (%s)", r.ID, r.Operation.Label())
		}
		p.Effects = append(p.Effects, fmt.Sprintf("Their %s waiting for approval %s cancelled: %s.",
			plural(len(pending), "request", "requests"), plural(len(pending), "is", "are"), strings.Join(ids, ", ")))
	} else if u.Has(auth.RoleRequester) {
		p.Effects = append(p.Effects, "They have no request waiting for approval, so none is cancelled.")
	}
	if u.Has(auth.RoleApprover) {
		p.Effects = append(p.Effects, "They cannot approve or reject anything; approvals they already gave stay on record.")
	}
	p.Effects = append(p.Effects, "Their roles and history stay. Reactivating lets them sign in again; cancelled requests stay cancelled.")
	return h.render(c, http.StatusOK, views.ConfirmUser(p))
}

// confirmReset asks before a password reset, saying what it ends. The form
// carries the password it replaces, so that posting it twice resets once.
// It only reads.
func (h *Handlers) confirmReset(c echo.Context) error {
	u, sessions, err := h.confirmTarget(c)
	if err != nil {
		return err
	}
	p := views.ConfirmUserPage{Base: h.base(c, "Reset the password of "+u.Email, "admin"),
		Heading: "Reset the password of " + nameOf(u) + "?", Action: fmt.Sprintf("/admin/users/%d/password", u.ID),
		Stamp: auth.PasswordStamp(u), Button: "Reset the password of " + u.Email,
		Effects: []string{
			fmt.Sprintf("Their current password stops working, and %s.", sessionPhrase(sessions)),
			"A temporary password is shown to you once, on the next page: give it to them privately.",
			"When they sign in with it, they must choose their own password before anything else.",
		}}
	switch held := auth.PrivilegedRoles(u); {
	case u.ID == user(c).ID:
		p.Refused = "You cannot reset your own password here: change it on your profile page."
	case len(held) > 0:
		p.Refused = fmt.Sprintf("No password reset while %s holds %s: whoever sees a temporary password could act as them. Take it away first.",
			u.Email, portal.RolePhrase(held))
	}
	return h.render(c, http.StatusOK, views.ConfirmUser(p))
}

// confirmTarget is the account a confirmation page is about, and how many
// live sessions it has.
func (h *Handlers) confirmTarget(c echo.Context) (portal.User, int, error) {
	id, err := adminUserID(c)
	if err != nil {
		return portal.User{}, 0, err
	}
	u, err := h.Store.UserByID(c.Request().Context(), id)
	if err != nil {
		return portal.User{}, 0, err
	}
	sessions, err := h.Auth.Sessions(c.Request().Context(), u.ID)
	return u, len(sessions), err
}

// nameOf names an account in a sentence: "Bob Approver (bob@example.com)".
func nameOf(u portal.User) string {
	if u.DisplayName != "" && u.DisplayName != u.Email {
		return u.DisplayName + " (" + u.Email + ")"
	}
	return u.Email
}

// sessionPhrase says what happens to n open sessions.
func sessionPhrase(n int) string {
	switch n {
	case 0:
		return "they have no open session to end"
	case 1:
		return "their 1 open session ends now"
	}
	return fmt.Sprintf("their %d open sessions end now", n)
}

// resetPassword gives a user a temporary password and shows it to the
// admin in this answer only: never in a URL or a cookie, never stored in
// the clear, never cached. The answer stays at the POST's address (no
// redirect: the password would have to be kept somewhere for the page
// after it), and the form carries the password it replaces
// (auth.PasswordStamp), so a reload that posts the form again resets
// nothing and shows no password: it is refused, saying so. htmx shows the
// list's own address instead, so a reload with JavaScript is a plain GET.
func (h *Handlers) resetPassword(c echo.Context) error {
	id, err := adminUserID(c)
	if err != nil {
		return err
	}
	if !confirmed(c) {
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/users/%d/reset-password", id))
	}
	temporary, u, err := h.Auth.ResetPassword(c.Request().Context(), *user(c), id, c.FormValue("stamp"))
	if err != nil {
		return h.adminResult(c, "", err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("HX-Replace-Url", "/admin/users")
	return h.renderUsers(c, http.StatusOK, views.UsersPage{Reset: &views.TemporaryPassword{Email: u.Email, Password: temporary}})
}

func (h *Handlers) policyPage(c echo.Context, status int, raw map[string]string, errs map[string]string, flash, errMsg string) error {
	return h.policyPageStepUp(c, status, raw, errs, flash, errMsg, "", nil)
}

// policyPageStepUp is policyPage after a step-up of the form with key
// form failed with stepUpErr (nil: none did).
func (h *Handlers) policyPageStepUp(c echo.Context, status int, raw map[string]string, errs map[string]string, flash, errMsg string,
	form string, stepUpErr error) error {
	ctx := c.Request().Context()
	cur, err := h.Store.CurrentPolicy(ctx)
	if err != nil {
		return err
	}
	atPage(c, "/admin/policy")
	p := views.PolicyPage{Base: h.base(c, "Approval policy", "admin"), Version: cur.Version, UpdatedAt: h.formatTime(cur.CreatedAt),
		UpdatedBy: "the initial setup", Errors: errs, Flash: flash, Error: errMsg,
		PendingTTL: portal.FormatDuration(cur.PendingTTL), ApprovalTTL: portal.FormatDuration(cur.ApprovalTTL)}
	if cur.CreatedBy != 0 {
		p.UpdatedBy = "proposed by " + h.userEmail(ctx, cur.CreatedBy)
		if cur.ApprovedBy != 0 {
			p.UpdatedBy += ", approved by " + h.userEmail(ctx, cur.ApprovedBy)
		}
	}
	for _, op := range portal.Operations {
		p.InEffect = append(p.InEffect, views.Field{Label: op.Label(), Value: portal.Plural(cur.Approvals[op], "approval", "approvals")})
	}
	p.InEffect = append(p.InEffect,
		views.Field{Label: "A pending request expires after", Value: portal.FormatDuration(cur.PendingTTL)},
		views.Field{Label: "An approval lapses if not executed within", Value: portal.FormatDuration(cur.ApprovalTTL)})
	for _, op := range portal.Operations {
		row := views.PolicyRow{Operation: string(op), Label: op.Label(), Value: strconv.Itoa(cur.Approvals[op]), Min: op.MinApprovals(), Max: portal.MaxApprovals}
		if raw != nil {
			row.Value, row.Error = raw["approvals_"+string(op)], errs[string(op)]
		}
		p.Rows = append(p.Rows, row)
	}
	if raw != nil {
		p.PendingTTL, p.ApprovalTTL = raw["pending_ttl"], raw["approval_ttl"]
	}
	if p.Admins, err = h.Store.CountActiveAdmins(ctx); err != nil {
		return err
	}
	if p.HadTwoAdmins, err = h.Store.HadTwoAdmins(ctx); err != nil {
		return err
	}
	changes, err := h.Store.PendingAdminChanges(ctx)
	if err != nil {
		return err
	}
	p.StepUp = h.stepUpPrompt(c, policyStepUp)
	stepUpFailed(p.StepUp, form, stepUpErr)
	for _, ch := range changes {
		if ch.Kind == portal.ChangePolicy {
			row := h.changeRow(ch, user(c).ID, cur)
			row.StepUp, row.DeclineStepUp = p.StepUp, p.StepUp
			p.Pending = &row
			// The form starts from the waiting change, which a proposal
			// replaces, so that nobody undoes it by proposing the old values.
			p.Replaces = row.ID
			if raw == nil {
				for i := range p.Rows {
					p.Rows[i].Value = strconv.Itoa(ch.Policy.Approvals[portal.Operation(p.Rows[i].Operation)])
				}
				p.PendingTTL, p.ApprovalTTL = portal.FormatDuration(ch.Policy.PendingTTL), portal.FormatDuration(ch.Policy.ApprovalTTL)
			}
		}
	}
	if err := h.policyWarnings(ctx, &p); err != nil {
		return err
	}
	if p.Decided, err = h.decidedChanges(ctx, portal.ChangePolicy, cur); err != nil {
		return err
	}
	return h.render(c, status, views.PolicyEditor(p))
}

// userEmail names a user for display; an unknown id shows as its number.
func (h *Handlers) userEmail(ctx context.Context, id int64) string {
	if u, err := h.Store.UserByID(ctx, id); err == nil {
		return u.Email
	}
	return fmt.Sprintf("user #%d", id)
}

func (h *Handlers) showPolicy(c echo.Context) error {
	return h.policyPage(c, http.StatusOK, nil, nil, h.takeNote(c), "")
}

func (h *Handlers) savePolicy(c echo.Context) error {
	raw := map[string]string{}
	in := portal.Policy{Approvals: map[portal.Operation]int{}}
	errs := map[string]string{}
	for _, op := range portal.Operations {
		v := strings.TrimSpace(c.FormValue("approvals_" + string(op)))
		raw["approvals_"+string(op)] = v
		n, err := strconv.Atoi(v)
		if err != nil {
			errs[string(op)] = fmt.Sprintf("Enter a number from %d to %d.", op.MinApprovals(), portal.MaxApprovals)
			continue
		}
		in.Approvals[op] = n
	}
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{{"pending_ttl", &in.PendingTTL}, {"approval_ttl", &in.ApprovalTTL}} {
		v := strings.TrimSpace(c.FormValue(f.name))
		raw[f.name] = v
		d, err := portal.ParseDuration(v)
		if err != nil {
			errs[f.name] = "Enter a duration such as 3 days, 24 hours or 30 minutes."
			continue
		}
		*f.dst = d
	}
	// Every problem at once: the policy's own rules for what did parse.
	for k, v := range in.Validate() {
		if _, ok := errs[k]; !ok {
			errs[k] = v
		}
	}
	if len(errs) == 0 {
		if err := h.stepUp(c, policyStepUp, "propose an approval policy"); err != nil {
			status, ok := h.shownAgain(c, err)
			if !ok {
				return err
			}
			return h.policyPageStepUp(c, status, raw, nil, "", "", "policy", err)
		}
		ch, verrs, err := h.Auth.ProposePolicy(c.Request().Context(), *user(c), in)
		if err != nil {
			return err
		}
		if len(verrs) == 0 {
			note := fmt.Sprintf("Proposed a new policy (change #%d). It takes effect when another admin approves it.", ch.ID)
			if ch.Supersedes != 0 {
				note += fmt.Sprintf(" It replaces change #%d, which is withdrawn.", ch.Supersedes)
			}
			return h.redirectWithNote(c, "/admin/policy", note)
		}
		errs = verrs
	}
	return h.policyPage(c, http.StatusUnprocessableEntity, raw, errs, "", "")
}

// decideChange approves or rejects (or, for its proposer, withdraws) an
// admin change, then goes back to the page it belongs on.
func (h *Handlers) decideChange(approve bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil || id <= 0 {
			return apperr.New(apperr.NotFound, "There is no such change.")
		}
		ctx, me := c.Request().Context(), *user(c)
		var ch portal.AdminChange
		if form, kind, err := h.changeStepUp(c, id, approve); err != nil {
			status, ok := h.shownAgain(c, err)
			if !ok {
				return err
			}
			switch kind {
			case portal.ChangeBreakGlass:
				return h.breakGlassAdminPageStepUp(c, status, nil, nil, "", "", form, err, nil)
			case portal.ChangeWindows:
				return h.windowsPageStepUp(c, status, views.WindowsPage{}, form, err)
			}
			return h.policyPageStepUp(c, status, nil, nil, "", "", form, err)
		}
		if approve {
			ch, err = h.Auth.ApproveChange(ctx, me, id, c.FormValue("comment"))
		} else {
			ch, err = h.Auth.RejectChange(ctx, me, id, c.FormValue("comment"))
		}
		if k := apperr.KindOf(err); k == apperr.Conflict || k == apperr.Invalid {
			status, _ := h.shownAgain(c, err)
			decision := "reject"
			if approve {
				decision = "approve"
			}
			if rerr := h.recordRefused(c, audit.ActionChangeDecisionRefused, 0, "admin_change", strconv.FormatInt(id, 10),
				map[string]any{"change": id, "decision": decision, "comment": strings.TrimSpace(c.FormValue("comment"))}, err); rerr != nil {
				return rerr
			}
			if ch.Kind == portal.ChangeWindows {
				return h.windowsPage(c, status, views.WindowsPage{Error: apperr.Message(err)})
			}
			if ch.Kind == portal.ChangePolicy {
				return h.policyPage(c, status, nil, nil, "", apperr.Message(err))
			}
			if ch.Kind == portal.ChangeBreakGlass {
				return h.breakGlassAdminPage(c, status, nil, nil, "", apperr.Message(err))
			}
			return h.usersPage(c, status, views.NewUserForm{}, nil, "", apperr.Message(err))
		}
		if err != nil {
			return err
		}
		done := fmt.Sprintf("Change #%d %s.", ch.ID, ch.Status)
		if ch.Status == portal.ChangeApplied {
			done = fmt.Sprintf("Change #%d approved: it is in effect.", ch.ID) + wokeNote(ch.Woke)
		}
		page := "/admin/users"
		if ch.Kind == portal.ChangePolicy {
			page = "/admin/policy"
		}
		if ch.Kind == portal.ChangeBreakGlass {
			page = "/admin/break-glass"
		}
		if ch.Kind == portal.ChangeWindows {
			page = "/admin/windows"
		}
		return h.redirectWithNote(c, page, done)
	}
}

func (h *Handlers) throttlesPage(c echo.Context, status int, flash, errMsg string) error {
	return h.throttlesPageStepUp(c, status, flash, errMsg, "", nil)
}

// throttlesStepUp says what clearing a throttle asks the password for.
const throttlesStepUp = "Clearing a sign-in throttle"

// throttlesPageStepUp is the throttles page with the step-up error of the
// clear form with key form, when a clearing failed on it.
func (h *Handlers) throttlesPageStepUp(c echo.Context, status int, flash, errMsg, form string, stepUpErr error) error {
	rows, err := h.Auth.SignInThrottles(c.Request().Context())
	if err != nil {
		return err
	}
	p := views.ThrottlesPage{Base: h.base(c, "Sign-in throttles", "admin"), Flash: flash, Error: errMsg,
		Truncated: len(rows) >= auth.MaxListedThrottles, StepUp: h.stepUpPrompt(c, throttlesStepUp)}
	stepUpFailed(p.StepUp, form, stepUpErr)
	for _, r := range rows {
		row := views.ThrottleRow{Account: r.Account, Address: r.Address, AddressText: r.Address,
			Failures: strconv.Itoa(r.Failures), LastFailure: h.formatTime(r.LastFailureAt), Waiting: r.Waiting,
			NextAllowed: "now"}
		switch {
		case r.Address == db.AllAddresses:
			row.AddressText = "all addresses"
		case r.Address == "":
			row.AddressText = "(unknown address)"
		}
		if r.Waiting {
			row.NextAllowed = h.formatTime(r.NextAllowedAt)
		}
		p.Rows = append(p.Rows, row)
	}
	return h.render(c, status, views.Throttles(p))
}

func (h *Handlers) listThrottles(c echo.Context) error {
	return h.throttlesPage(c, http.StatusOK, h.takeNote(c), "")
}

// clearThrottle ends a sign-in throttle. Like the other admin changes it
// needs the password entered lately (a throttle is what stands between a
// stolen session and guessing that password), and an admin's own account's
// throttles are another admin's to clear.
func (h *Handlers) clearThrottle(c echo.Context) error {
	account, address := c.FormValue("account"), c.FormValue("address")
	if err := h.stepUp(c, throttlesStepUp, "clear a sign-in throttle"); err != nil {
		status, ok := h.shownAgain(c, err)
		if !ok {
			return err
		}
		return h.throttlesPageStepUp(c, status, "", "", views.ThrottleFormKey(account, address), err)
	}
	r, err := h.Auth.ClearThrottle(c.Request().Context(), *user(c), account, address)
	switch apperr.KindOf(err) {
	case apperr.Conflict, apperr.Invalid, apperr.Forbidden:
		status, _ := h.shownAgain(c, err)
		return h.throttlesPage(c, status, "", apperr.Message(err))
	}
	if err != nil {
		return err
	}
	from := "from " + r.Address
	if r.Address == db.AllAddresses {
		from = "across all addresses"
	}
	return h.redirectWithNote(c, "/admin/sign-ins", fmt.Sprintf("Cleared the sign-in throttle of %s %s: the next attempt is checked at once.", r.Account, from))
}
