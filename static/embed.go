// Package static holds the portal's pinned front-end files (htmx, CSS, the
// small app script), embedded in the binary and served under URLs that carry
// a hash of their content, so browsers may cache them forever.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed *.js *.css
var files embed.FS

// Prefix is where the assets are served.
const Prefix = "/static/"

// Assets maps file names to their hashed URLs and serves them.
type Assets struct {
	urls    map[string]string // "app.css" -> "/static/app.3f2a9c1d.css"
	content map[string][]byte // hashed name -> bytes
	types   map[string]string
}

// Load hashes the embedded files.
func Load() *Assets {
	a := &Assets{urls: map[string]string{}, content: map[string][]byte{}, types: map[string]string{}}
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			continue
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		a.urls[e.Name()] = Prefix + hashed
		a.content[hashed] = b
		switch ext {
		case ".js":
			a.types[hashed] = "text/javascript; charset=utf-8"
		case ".css":
			a.types[hashed] = "text/css; charset=utf-8"
		}
	}
	return a
}

// URL returns the hashed URL of an embedded file; it panics on a name that
// is not embedded, a programming error caught by any test that renders.
func (a *Assets) URL(name string) string {
	u, ok := a.urls[name]
	if !ok {
		panic("static: no embedded file " + name)
	}
	return u
}

// ServeHTTP serves a hashed asset with a year-long immutable cache.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, Prefix)
	b, ok := a.content[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.types[name])
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, time.Time{}, strings.NewReader(string(b)))
}
