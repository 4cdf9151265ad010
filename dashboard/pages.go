package dashboard

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// staticHandler serves the stylesheet and script under /static/ (no
// authentication: they hold nothing secret and the login page needs them),
// without directory listings.
func staticHandler() http.Handler {
	files := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// pageNames are the page templates; each defines "content" and is rendered
// inside templates/layout.html.
var pageNames = []string{"list", "record", "requeue", "purge", "tenants", "login", "error"}

// pages holds the parsed page templates.
type pages struct {
	t map[string]*template.Template
}

var templateFuncs = template.FuncMap{
	"utc":      formatUTC,
	"pretty":   prettyBody,
	"truncate": truncate,
	"path":     url.PathEscape,
}

func parsePages() (*pages, error) {
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: parse template %s: %w", name, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// pageBase is what the layout needs on every page.
type pageBase struct {
	Title string
	// Nav is the highlighted navigation entry.
	Nav string
	// User is who is signed in; SignedIn shows the sign-out button (only a
	// cookie session can sign out).
	User     string
	SignedIn bool
	ReadOnly bool
	CSRF     string
	// Paused are the paused tenants the banner names (signed-in pages
	// only), PausedMore how many more there are.
	Paused     []pausedBanner
	PausedMore int
}

// base fills the layout data for a page answering r.
func (d *Dashboard) base(w http.ResponseWriter, r *http.Request, title string) pageBase {
	p := principalOf(r.Context())
	b := pageBase{Title: title, Nav: "dlq", ReadOnly: d.cfg.ReadOnly, CSRF: d.csrfToken(w, r, p)}
	if p != nil {
		b.User = p.user
		b.SignedIn = p.method == methodSession
		b.Paused, b.PausedMore = d.pausedBanners(r.Context())
	}
	return b
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 instead of half a page.
func (d *Dashboard) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := d.pages.t[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		d.log.Error().Err(err).Str("page", name).Msg("dashboard: render page")
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// errorData is the data of the error page.
type errorData struct {
	pageBase
	Status  int
	Message string
	// Back is a link to return to.
	Back string
}

// renderError shows an error page. msg is shown as is: never put secrets or
// Redis details in it.
func (d *Dashboard) renderError(w http.ResponseWriter, r *http.Request, status int, msg, back string) {
	d.render(w, status, "error", errorData{
		pageBase: d.base(w, r, http.StatusText(status)), Status: status, Message: msg, Back: back,
	})
}

func formatUTC(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000Z")
}

// prettyBody renders a stored body: indented JSON, or the text of a body
// that was not JSON (stored as a JSON string).
func prettyBody(b json.RawMessage) string {
	if len(b) == 0 || string(b) == "null" {
		return "(none)"
	}
	var s string
	if b[0] == '"' && json.Unmarshal(b, &s) == nil {
		return s
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

func truncate(n int, s string) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
