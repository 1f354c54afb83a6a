// Package metrics exposes ticketd's Prometheus metrics. Gauges that the
// database knows best (queued outbox rows, tickets per status) and the
// received-mail counter (every source, also `inject` and other processes)
// are read from the store at scrape time through Source; what only the
// running daemon sees (SMTP sessions, sends, IMAP passes) comes in through
// small hooks.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Counts is what the database says at one moment.
type Counts struct {
	OutboxQueued int
	Tickets      map[string]int // by status key
	// Received counts stored mails by source, among those after the
	// raw-message id given to Source; LastRawID is the newest id.
	Received  map[string]int
	LastRawID int64
}

// Source reads Counts, counting received mail after afterRawID.
type Source func(ctx context.Context, afterRawID int64) (Counts, error)

// Statuses and sources always exported, also at zero, so that a rate or an
// alert on them has a series from the start.
var (
	statuses = []string{"nuevo", "pendiente", "abierto", "cerrado"}
	sources  = []string{"smtp", "lmtp", "imap", "inject"}
)

// Metrics is one daemon's registry.
type Metrics struct {
	reg      *prometheus.Registry
	src      Source
	log      *slog.Logger
	sent     prometheus.Counter
	failed   prometheus.Counter
	sessions prometheus.Gauge
	imapLast *prometheus.GaugeVec

	queuedDesc, ticketsDesc, receivedDesc *prometheus.Desc

	mu       sync.Mutex
	lastRaw  int64
	received map[string]float64
}

// New builds the registry. Received mail is counted from now on: the
// counter starts at zero, as counters do when a process starts.
func New(ctx context.Context, src Source, log *slog.Logger) (*Metrics, error) {
	if log == nil {
		log = slog.Default()
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(), src: src, log: log, received: map[string]float64{},
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "ticketd_outbox_sent_total",
			Help: "Outgoing mails delivered by this process's outbox worker."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "ticketd_outbox_failed_total",
			Help: "Outgoing mails given up on (permanent error or too old) by this process's outbox worker."}),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ticketd_smtp_sessions",
			Help: "Open SMTP and LMTP sessions."}),
		imapLast: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ticketd_imap_last_success_timestamp_seconds",
			Help: "When an IMAP account's folder was last read through to the end (Unix time)."}, []string{"account", "folder"}),
		queuedDesc: prometheus.NewDesc("ticketd_outbox_queued",
			"Outgoing mails waiting in the outbox (all processes).", nil, nil),
		ticketsDesc: prometheus.NewDesc("ticketd_tickets",
			"Tickets by status.", []string{"status"}, nil),
		receivedDesc: prometheus.NewDesc("ticketd_mail_received_total",
			"Mails stored, by the way they came in (smtp, lmtp, imap, inject), since this process started.", []string{"source"}, nil),
	}
	start, err := src(ctx, 1<<62)
	if err != nil {
		return nil, err
	}
	m.lastRaw = start.LastRawID
	m.reg.MustRegister(m.sent, m.failed, m.sessions, m.imapLast, dbCollector{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, s := range sources {
		m.received[s] = 0
	}
	return m, nil
}

// Handler serves /metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slogLogger{m.log}, ErrorHandling: promhttp.ContinueOnError}))
	return mux
}

// SMTPSession adds delta (+1 at the greeting, -1 at the end) to the open sessions.
func (m *Metrics) SMTPSession(delta int) { m.sessions.Add(float64(delta)) }

// OutboxSent counts one delivered mail.
func (m *Metrics) OutboxSent() { m.sent.Inc() }

// OutboxFailed counts one mail given up on.
func (m *Metrics) OutboxFailed() { m.failed.Inc() }

// IMAPSuccess records a completed pass over an IMAP folder.
func (m *Metrics) IMAPSuccess(account, folder string, at time.Time) {
	m.imapLast.WithLabelValues(account, folder).Set(float64(at.UnixNano()) / 1e9)
}

// dbCollector reads the database at each scrape.
type dbCollector struct{ m *Metrics }

func (c dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.m.queuedDesc
	ch <- c.m.ticketsDesc
	ch <- c.m.receivedDesc
}

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m.mu.Lock()
	defer m.mu.Unlock()
	counts, err := m.src(ctx, m.lastRaw)
	if err != nil {
		m.log.Warn("metrics: reading the database", "err", err)
		ch <- prometheus.NewInvalidMetric(m.queuedDesc, err)
		return
	}
	for s, n := range counts.Received {
		m.received[s] += float64(n)
	}
	if counts.LastRawID > m.lastRaw {
		m.lastRaw = counts.LastRawID
	}
	ch <- prometheus.MustNewConstMetric(m.queuedDesc, prometheus.GaugeValue, float64(counts.OutboxQueued))
	for _, s := range statuses {
		ch <- prometheus.MustNewConstMetric(m.ticketsDesc, prometheus.GaugeValue, float64(counts.Tickets[s]), s)
	}
	names := make([]string, 0, len(m.received))
	for s := range m.received {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		ch <- prometheus.MustNewConstMetric(m.receivedDesc, prometheus.CounterValue, m.received[s], s)
	}
}

// slogLogger lets promhttp report encoding errors through slog.
type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Println(v ...any) { l.log.Warn("metrics", "err", v) }
