package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"drportal/internal/apperr"
	"drportal/internal/auth"
	"drportal/internal/portal"
	"drportal/internal/requests"
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
	users, err := h.Store.ListUsers(c.Request().Context())
	if err != nil {
		return err
	}
	me := user(c)
	p := views.UsersPage{Base: h.base(c, "Users", "admin"), Form: form, Errors: errs, Flash: flash, Error: errMsg}
	if p.Form.Roles == nil {
		p.Form.Roles = roleBoxes([]string{string(auth.RoleRequester)})
	}
	for _, u := range users {
		p.Users = append(p.Users, views.UserRow{ID: strconv.FormatInt(u.ID, 10), Email: u.Email, Name: u.DisplayName,
			Roles: roleBoxes(u.RoleNames()), Active: u.Active, Self: u.ID == me.ID})
	}
	return h.render(c, status, views.Users(p))
}

func (h *Handlers) listUsers(c echo.Context) error {
	return h.usersPage(c, http.StatusOK, views.NewUserForm{}, nil, c.QueryParam("done"), "")
}

func (h *Handlers) createUser(c echo.Context) error {
	form, _ := c.FormParams()
	n := auth.NewUser{Email: form.Get("email"), DisplayName: form.Get("display_name"), Password: form.Get("password"), Roles: form["roles"]}
	u, errs, err := h.Auth.CreateUser(c.Request().Context(), *user(c), n)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return h.usersPage(c, http.StatusUnprocessableEntity,
			views.NewUserForm{Email: n.Email, DisplayName: n.DisplayName, Roles: roleBoxes(n.Roles)}, errs, "", "")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users?done="+url.QueryEscape(fmt.Sprintf("Created %s (%s).", u.Email, strings.Join(u.RoleNames(), ", "))))
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
		status, _ := formStatus(err)
		return h.usersPage(c, status, views.NewUserForm{}, nil, "", apperr.Message(err))
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users?done="+url.QueryEscape(done))
}

func (h *Handlers) setUserRoles(c echo.Context) error {
	id, err := adminUserID(c)
	if err != nil {
		return err
	}
	form, _ := c.FormParams()
	u, err := h.Auth.SetRoles(c.Request().Context(), *user(c), id, form["roles"])
	return h.adminResult(c, fmt.Sprintf("Saved the roles of %s: %s.", u.Email, strings.Join(u.RoleNames(), ", ")), err)
}

func (h *Handlers) setUserActive(c echo.Context) error {
	id, err := adminUserID(c)
	if err != nil {
		return err
	}
	active, perr := strconv.ParseBool(c.FormValue("active"))
	if perr != nil {
		return apperr.New(apperr.Invalid, "active must be true or false.")
	}
	u, err := h.Auth.SetActive(c.Request().Context(), *user(c), id, active)
	done := fmt.Sprintf("Deactivated %s and ended their sessions.", u.Email)
	if active {
		done = fmt.Sprintf("Reactivated %s.", u.Email)
	}
	return h.adminResult(c, done, err)
}

func (h *Handlers) policyPage(c echo.Context, status int, in *requests.PolicyInput, raw map[string]string, errs map[string]string, flash string) error {
	ctx := c.Request().Context()
	cur, err := h.Store.CurrentPolicy(ctx)
	if err != nil {
		return err
	}
	p := views.PolicyPage{Base: h.base(c, "Approval policy", "admin"), Version: cur.Version, UpdatedAt: formatTime(cur.CreatedAt),
		UpdatedBy: "the initial setup", Errors: errs, Flash: flash,
		PendingTTL: cur.PendingTTL.String(), ApprovalTTL: cur.ApprovalTTL.String()}
	if cur.CreatedBy != 0 {
		if u, err := h.Store.UserByID(ctx, cur.CreatedBy); err == nil {
			p.UpdatedBy = u.Email
		}
	}
	for _, op := range portal.Operations {
		row := views.PolicyRow{Operation: string(op), Value: strconv.Itoa(cur.Approvals[op])}
		if raw != nil {
			row.Value, row.Error = raw["approvals_"+string(op)], errs[string(op)]
		}
		p.Rows = append(p.Rows, row)
	}
	if raw != nil {
		p.PendingTTL, p.ApprovalTTL = raw["pending_ttl"], raw["approval_ttl"]
	}
	return h.render(c, status, views.PolicyEditor(p))
}

func (h *Handlers) showPolicy(c echo.Context) error {
	return h.policyPage(c, http.StatusOK, nil, nil, nil, c.QueryParam("done"))
}

func (h *Handlers) savePolicy(c echo.Context) error {
	raw := map[string]string{}
	in := requests.PolicyInput{Approvals: map[portal.Operation]int{}}
	errs := map[string]string{}
	for _, op := range portal.Operations {
		v := strings.TrimSpace(c.FormValue("approvals_" + string(op)))
		raw["approvals_"+string(op)] = v
		n, err := strconv.Atoi(v)
		if err != nil {
			errs[string(op)] = fmt.Sprintf("Enter a number from 0 to %d.", portal.MaxApprovals)
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
		d, err := time.ParseDuration(v)
		if err != nil {
			errs[f.name] = "Enter a duration such as 72h or 30m."
			continue
		}
		*f.dst = d
	}
	if len(errs) == 0 {
		saved, verrs, err := h.Requests.SavePolicy(c.Request().Context(), *user(c), in)
		if err != nil {
			return err
		}
		if len(verrs) == 0 {
			return c.Redirect(http.StatusSeeOther, "/admin/policy?done="+url.QueryEscape(fmt.Sprintf("Saved policy version %d.", saved.Version)))
		}
		errs = verrs
	}
	return h.policyPage(c, http.StatusUnprocessableEntity, &in, raw, errs, "")
}
