// Package web serves the read-only status page of each ticket: GET
// /t/{token} shows where a request stands, /t/{token}/files/{id} hands out
// its public attachments, and /healthz answers load balancers.
//
// The page shows only what the customer may see: customer and agent
// messages that were public, never internal notes, unverified mail or
// history. Every miss, whatever its reason, gets the same 404 bytes, so the
// page tells a stranger nothing about which tokens exist.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ticketd/ticketd"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/threading"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/ticketd.css
var css []byte

// Security headers sent with every answer. The pages need no script at
// all, so the policy allows none; styles come only from our stylesheet.
const (
	pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	// Downloads are never rendered by us; if a browser shows one anyway
	// it runs sandboxed and can load nothing.
	fileCSP = "default-src 'none'; sandbox; frame-ancestors 'none'"
)

// Handler is the status page. It is safe for concurrent use.
type Handler struct {
	st      ticketd.Store
	cfg     func() *config.Config
	log     *slog.Logger
	now     func() time.Time
	tpl     *template.Template
	cssName string // content-addressed, so browsers may cache it forever
	// downloads limits the downloads in flight per token.
	downloads downloadSlots
}

// New returns the status page over st. cfg is called on each request, so a
// reloaded configuration (languages, agent names) applies at once; now is
// the daemon's clock.
func New(st ticketd.Store, cfg func() *config.Config, log *slog.Logger, now func() time.Time) *Handler {
	if log == nil {
		log = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	sum := sha256.Sum256(css)
	h := &Handler{st: st, cfg: cfg, log: log, now: now, cssName: "ticketd-" + hex.EncodeToString(sum[:6]) + ".css"}
	h.tpl = template.Must(template.New("").Funcs(template.FuncMap{"initial": initial, "linkify": linkify}).ParseFS(templateFS, "templates/*.html"))
	return h
}

// ServeHTTP answers one request and writes one access log line.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	route := "other"
	defer func() {
		if p := recover(); p != nil {
			// Logged without the request path: it may hold a token.
			h.log.Error("http handler panic", "route", route, "panic", p)
			if rec.status == 0 {
				h.serveError(rec, r)
			}
		}
		lvl := slog.LevelInfo
		if route == "healthz" || route == "static" {
			lvl = slog.LevelDebug
		}
		h.log.Log(r.Context(), lvl, "http", "method", logMethod(r.Method), "route", route, "path", logPath(r.URL.Path),
			"status", rec.code(), "bytes", rec.n, "ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
	}()

	hd := rec.Header()
	hd.Set("Content-Security-Policy", pageCSP)
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("X-Robots-Tag", "noindex, nofollow")
	// The page changes nothing, so it takes nothing but reads; refuse the
	// rest before looking anything up.
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		hd.Set("Cache-Control", "no-store")
		hd.Set("Content-Type", "text/plain; charset=utf-8")
		rec.WriteHeader(http.StatusMethodNotAllowed)
		rec.Write([]byte("405 method not allowed\n"))
		return
	}

	cfg := h.cfg()
	path := h.stripBase(cfg, r.URL.Path)
	switch {
	case path == "/healthz":
		route = "healthz"
		h.serveHealth(rec, r)
	case path == "/static/"+h.cssName:
		route = "static"
		hd.Set("Content-Type", "text/css; charset=utf-8")
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
		hd.Set("Content-Length", strconv.Itoa(len(css)))
		rec.Write(css)
	case path == "/favicon.ico":
		route = "favicon"
		hd.Set("Content-Type", "image/x-icon")
		hd.Set("Cache-Control", "public, max-age=604800")
		hd.Set("Content-Length", strconv.Itoa(len(favicon)))
		rec.Write(favicon)
	case strings.HasPrefix(path, "/t/"):
		token, rest, _ := strings.Cut(path[len("/t/"):], "/")
		switch {
		case rest == "" && !strings.HasSuffix(path, "/"):
			route = "ticket"
			h.serveTicket(rec, r, cfg, token)
		case strings.HasPrefix(rest, "files/"):
			route = "file"
			h.serveFile(rec, r, token, rest[len("files/"):])
		default:
			h.serveNotFound(rec, r)
		}
	default:
		h.serveNotFound(rec, r)
	}
}

// stripBase removes the path of base_url (https://example.com/help) when a
// proxy passes it through, so both proxy styles work.
func (h *Handler) stripBase(cfg *config.Config, p string) string {
	base := basePath(cfg)
	if base != "" && (p == base || strings.HasPrefix(p, base+"/")) {
		return p[len(base):]
	}
	return p
}

// basePath is the path part of base_url without its trailing slash.
func basePath(cfg *config.Config) string {
	u, err := url.Parse(cfg.Server.BaseURL)
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.EscapedPath(), "/")
}

func (h *Handler) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.st.View(ctx, func(ticketd.Tx) error { return nil }); err != nil {
		h.log.Warn("healthz: store unavailable", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("store unavailable\n"))
		return
	}
	w.Write([]byte("ok\n"))
}

// errNotFound is every reason to answer 404; which one it was is never told.
var errNotFound = errors.New("web: not found")

// lookup runs fn in a read transaction. A malformed token never reaches the
// database.
func (h *Handler) lookup(r *http.Request, token string, fn func(tx ticketd.Tx, tk *ticketd.Ticket) error) error {
	if !threading.ValidToken(token) {
		return errNotFound
	}
	err := h.st.View(r.Context(), func(tx ticketd.Tx) error {
		tk, err := tx.TicketByToken(token)
		if err != nil {
			return err
		}
		return fn(tx, tk)
	})
	if errors.Is(err, ticketd.ErrNotFound) {
		return errNotFound
	}
	return err
}

// fail answers a lookup error: 404 for any miss, 500 (logged) otherwise.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, token string, err error) {
	if errors.Is(err, errNotFound) {
		h.serveNotFound(w, r)
		return
	}
	h.log.Error("status page lookup failed", "token", tokenPrefix(token), "err", err)
	h.serveError(w, r)
}

// serveNotFound writes the one 404 page. It depends on nothing but the
// configuration, so every miss gets the same bytes.
func (h *Handler) serveNotFound(w http.ResponseWriter, r *http.Request) {
	h.servePlainPage(w, http.StatusNotFound, "notfound.html")
}

func (h *Handler) serveError(w http.ResponseWriter, r *http.Request) {
	h.servePlainPage(w, http.StatusInternalServerError, "error.html")
}

func (h *Handler) servePlainPage(w http.ResponseWriter, code int, name string) {
	cfg := h.cfg()
	l, lang := labelsFor(cfg.Server.Language)
	var buf bytes.Buffer
	if err := h.tpl.ExecuteTemplate(&buf, name, plainPage{Lang: lang, L: l, CSS: h.cssURL(cfg)}); err != nil {
		h.log.Error("render page", "page", name, "err", err)
		buf.Reset()
		buf.WriteString(http.StatusText(code) + "\n")
	}
	writeHTML(w, code, buf.Bytes())
}

type plainPage struct {
	Lang string
	L    *labels
	CSS  string
}

func (h *Handler) cssURL(cfg *config.Config) string {
	return basePath(cfg) + "/static/" + h.cssName
}

func writeHTML(w http.ResponseWriter, code int, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
}

// recorder keeps what the access log needs.
type recorder struct {
	http.ResponseWriter
	status int
	n      int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.n += int64(n)
	return n, err
}

func (r *recorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// initial is the letter shown in a name's avatar.
func initial(name string) string {
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return strings.ToUpper(string(r))
		}
	}
	return "·"
}

// tokenPrefix is enough of a token to correlate log lines, far too little
// to open the page.
func tokenPrefix(token string) string {
	if len(token) > 6 {
		token = token[:6]
	}
	return token + "…"
}

// logPath writes a request path for the log without any token in it: the
// known shapes keep a token prefix, anything else is cut short enough that
// no full token (24 characters) fits.
func logPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "/t/"); ok {
		token, tail, hasTail := strings.Cut(rest, "/")
		out := "/t/" + tokenPrefix(token)
		if hasTail {
			if id, ok := strings.CutPrefix(tail, "files/"); ok && isDigits(id) && len(id) <= 19 {
				return out + "/files/" + id
			}
			return out + "/…"
		}
		return out
	}
	if len(p) > 20 {
		return p[:20] + "…"
	}
	return p
}

// logMethod keeps a client from writing arbitrary text into the log.
func logMethod(m string) string {
	if len(m) > 10 {
		return m[:10] + "…"
	}
	return m
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
