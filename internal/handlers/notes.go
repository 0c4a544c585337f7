package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// noteCookie carries the one-line note a page shows after a change ("Saved
// the roles of …") across the redirect that follows it. It is the portal's
// own doing: a note in the address could be written by anyone who sends a
// link, and would read as the portal's word. The cookie is signed with the
// install's note key (Deps.NoteKey): one planted by a neighbouring site
// that can set cookies for the domain is not shown.
const noteCookie = "drp_note"

// maxNote bounds a note, in bytes.
const maxNote = 600

// redirectWithNote answers a change with a redirect to path, whose page
// then shows note once.
func (h *Handlers) redirectWithNote(c echo.Context, path, note string) error {
	if len(note) > maxNote {
		note = note[:maxNote]
		for !utf8.ValidString(note) {
			note = note[:len(note)-1]
		}
	}
	c.SetCookie(&http.Cookie{Name: noteCookie, Value: h.signNote(note), Path: "/",
		HttpOnly: true, Secure: h.Config.SecureCookies(), SameSite: http.SameSiteStrictMode, MaxAge: 60})
	return c.Redirect(http.StatusSeeOther, path)
}

// lastingMark begins a note worded to stay true while the request page it
// is on updates itself (redirectWithLastingNote): that page keeps it
// through the card's refreshes, whatever its status becomes.
const lastingMark = "\x1e"

// redirectWithLastingNote is redirectWithNote with a note the request page
// keeps through its refreshes.
func (h *Handlers) redirectWithLastingNote(c echo.Context, path, note string) error {
	return h.redirectWithNote(c, path, lastingMark+note)
}

// takeNote returns the note a change left for the page it redirected to,
// and clears it, so that it shows once.
func (h *Handlers) takeNote(c echo.Context) string {
	note, _ := h.takeLastingNote(c)
	return note
}

// takeLastingNote is takeNote, and whether the note is a lasting one.
func (h *Handlers) takeLastingNote(c echo.Context) (string, bool) {
	note, lasting := strings.CutPrefix(h.readNote(c), lastingMark)
	return strings.TrimSpace(note), lasting
}

// readNote is the note's signed text, as it was left.
func (h *Handlers) readNote(c echo.Context) string {
	ck, err := c.Cookie(noteCookie)
	if err != nil || ck.Value == "" {
		return ""
	}
	h.clearNote(c)
	enc, sig, ok := strings.Cut(ck.Value, ".")
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if !ok || err != nil || len(b) > maxNote || !utf8.Valid(b) || !hmac.Equal([]byte(sig), []byte(h.noteMAC(b))) {
		return ""
	}
	return string(b)
}

// signNote is a note as its cookie carries it: the text, a dot, its MAC.
func (h *Handlers) signNote(note string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(note)) + "." + h.noteMAC([]byte(note))
}

func (h *Handlers) noteMAC(note []byte) string {
	m := hmac.New(sha256.New, h.NoteKey)
	m.Write([]byte("drp_note\x00"))
	m.Write(note)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// clearNote drops a note not yet shown: a session that starts or ends does
// not show the previous one's.
func (h *Handlers) clearNote(c echo.Context) {
	if _, err := c.Cookie(noteCookie); err == nil {
		c.SetCookie(&http.Cookie{Name: noteCookie, Value: "", Path: "/", HttpOnly: true, Secure: h.Config.SecureCookies(),
			SameSite: http.SameSiteStrictMode, MaxAge: -1})
	}
}
