package daemon_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/mailer"
)

// recorder is an outbound transport that counts what it sends and can
// hold one delivery until released, as a slow smarthost would.
type recorder struct {
	mu      sync.Mutex
	sent    map[int64]int
	hold    int64 // row to hold; 0 none
	entered chan struct{}
	release chan struct{}
}

func newRecorder() *recorder {
	return &recorder{sent: map[int64]int{}, entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (r *recorder) Send(ctx context.Context, id int64, _ *mailer.Composed) error {
	r.mu.Lock()
	hold := r.hold == id
	r.mu.Unlock()
	if hold {
		r.entered <- struct{}{}
		<-r.release
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent[id]++
	return nil
}

func (r *recorder) count(id int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent[id]
}

// startOn starts a daemon on cfg with a fake clock and tr, stopped at the
// end of the test unless stopped before.
func startOn(t *testing.T, cfg *config.Config, clock *daemontest.Clock, tr mailer.Transport) *daemon.Daemon {
	t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	d, err := daemon.Start(cfg, daemon.Options{Now: clock.Now, Log: log, ManualOutbox: true, OutboxConcurrency: 1, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func loadConfig(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "ticketd.toml")
	os.WriteFile(path, []byte(daemontest.BaseConfig(dir)), 0o600)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func dueIDs(t *testing.T, d *daemon.Daemon, now time.Time) []int64 {
	t.Helper()
	var ids []int64
	d.Store.View(context.Background(), func(tx ticketd.Tx) error {
		due, err := tx.DueOutgoing(now, 100)
		for _, o := range due {
			ids = append(ids, o.ID)
		}
		return err
	})
	return ids
}

// claimFirst claims the oldest due row for owner, as a sender that then
// died would have, and checks it is row want.
func claimFirst(t *testing.T, d *daemon.Daemon, owner string, now time.Time, want int64) {
	t.Helper()
	var got []*ticketd.Outgoing
	if err := d.Store.Update(context.Background(), func(tx ticketd.Tx) (err error) {
		got, err = tx.ClaimDue(owner, now, now.Add(mailer.Lease), 1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != want {
		t.Fatalf("claimed %d rows, want row %d", len(got), want)
	}
}

// startWithNewTicket starts a daemon that sends through a recorder, and
// gives it a customer's first mail: three rows queued, the acknowledgement
// and two notifications.
func startWithNewTicket(t *testing.T) (*config.Config, *daemontest.Clock, *recorder, *daemon.Daemon, []int64) {
	t.Helper()
	cfg := loadConfig(t)
	clock := daemontest.NewClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	tr := newRecorder()
	d := startOn(t, cfg, clock, tr)
	if err := daemontest.SendSMTP(d.SMTPAddr.String(), "carla@cliente.example", []string{"soporte@example.com"},
		"From: carla@cliente.example\r\nSubject: Hola\r\n\r\nhola\r\n"); err != nil {
		t.Fatal(err)
	}
	ids := dueIDs(t, d, clock.Now())
	if len(ids) != 3 {
		t.Fatalf("%d rows queued, want the acknowledgement and two notifications", len(ids))
	}
	return cfg, clock, tr, d, ids
}

// A process killed while sending left its claims behind; when it starts
// again it takes them back at once instead of waiting for the lease.
func TestRestartTakesBackItsOwnClaimsAtOnce(t *testing.T) {
	cfg, clock, tr, d, ids := startWithNewTicket(t)
	// As if the process died right after claiming the first row.
	claimFirst(t, d, daemon.ServeOwner(), clock.Now(), ids[0])
	d.Shutdown(context.Background())

	d = startOn(t, cfg, clock, tr) // the same serve, its next life; no time passed
	defer d.Shutdown(context.Background())
	if n, err := d.Worker.RunOnce(context.Background()); n != 3 || err != nil {
		t.Fatalf("after the restart %d of 3 rows sent (%v)", n, err)
	}
	if tr.count(ids[0]) != 1 {
		t.Fatalf("the claimed row was sent %d times", tr.count(ids[0]))
	}
}

// Another process's claim on a row lasts one short lease, not 5 minutes;
// while the holder is still sending it renews the lease, so a second
// sender never sends the same row.
func TestClaimsAreShortLeasesRenewedWhileSending(t *testing.T) {
	cfg := loadConfig(t)
	clock := daemontest.NewClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	tr := newRecorder()
	d := startOn(t, cfg, clock, tr)
	defer d.Shutdown(context.Background())
	if err := daemontest.SendSMTP(d.SMTPAddr.String(), "carla@cliente.example", []string{"soporte@example.com"},
		"From: carla@cliente.example\r\nSubject: Hola\r\n\r\nhola\r\n"); err != nil {
		t.Fatal(err)
	}
	ids := dueIDs(t, d, clock.Now())

	// A dead sender (another process) claimed the first row.
	claimFirst(t, d, "pid1@gone.example", clock.Now(), ids[0])
	clock.Advance(mailer.Lease + time.Second)
	if got := dueIDs(t, d, clock.Now()); len(got) != 3 {
		t.Fatalf("a dead sender's row is still held after %v: %d of 3 due", mailer.Lease+time.Second, len(got))
	}

	// Now the daemon sends the second row slowly; meanwhile, 6 minutes
	// pass, longer than any lease.
	tr.mu.Lock()
	tr.hold = ids[1]
	tr.mu.Unlock()
	d.Worker.RenewEvery = 10 * time.Millisecond
	renewed := make(chan int64, 100)
	d.Worker.Renewed = func(id int64) { renewed <- id }
	done := make(chan error, 1)
	go func() { _, err := d.Worker.RunOnce(context.Background()); done <- err }()
	<-tr.entered
	clock.Advance(6 * time.Minute)
	// Each renewal is observed; one that ran after the clock moved holds
	// the row again (earlier ones may still be in the channel).
	for held := false; !held; {
		select {
		case <-renewed:
		case <-time.After(10 * time.Second):
			t.Fatal("the lease of a row being sent was never renewed")
		}
		held = true
		for _, id := range dueIDs(t, d, clock.Now()) {
			held = held && id != ids[1]
		}
	}
	other := &mailer.Worker{Store: d.Store, Composer: d.Worker.Composer, Transport: tr, Now: clock.Now, Owner: "sweep@host", Concurrency: 1}
	if _, err := other.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := tr.count(ids[1]); n != 0 {
		t.Fatalf("a second sender sent the row being sent (%d times)", n)
	}
	close(tr.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if n := tr.count(id); n != 1 {
			t.Fatalf("row %d sent %d times, want once", id, n)
		}
	}
}

// A mail the smarthost accepted while the daemon was shutting down is
// recorded as sent, so the next life of the process does not send it
// again; the rows not yet attempted go out then, once each.
func TestMailSentDuringShutdownIsNotSentAgain(t *testing.T) {
	cfg, clock, tr, d, ids := startWithNewTicket(t)
	tr.mu.Lock()
	tr.hold = ids[0]
	tr.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := d.Worker.RunOnce(ctx); done <- err }()
	<-tr.entered
	cancel() // the shutdown begins while the smarthost holds the first mail
	close(tr.release)
	<-done
	for _, id := range dueIDs(t, d, clock.Now().Add(mailer.Lease+time.Second)) {
		if id == ids[0] {
			t.Fatal("the mail the smarthost accepted during shutdown is still queued")
		}
	}
	d.Shutdown(context.Background())

	// The next life, no time passed: it takes back what it still held.
	d = startOn(t, cfg, clock, tr)
	defer d.Shutdown(context.Background())
	if _, err := d.Worker.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if n := tr.count(id); n != 1 {
			t.Errorf("row %d sent %d times, want once", id, n)
		}
	}
}

// While mail is being received the outbox gives way: its senders wait
// (at most MaxYield) before composing, and send once intake pauses.
func TestOutboxGivesWayToIntake(t *testing.T) {
	_, _, tr, d, ids := startWithNewTicket(t)
	var receiving atomic.Bool
	receiving.Store(true)
	asked := make(chan struct{}, 100)
	d.Worker.Busy = func() bool {
		select {
		case asked <- struct{}{}:
		default:
		}
		return receiving.Load()
	}
	d.Worker.MaxYield = time.Hour
	done := make(chan error, 1)
	go func() { _, err := d.Worker.RunOnce(context.Background()); done <- err }()
	for range 3 {
		<-asked // a sender is waiting, asking again and again
	}
	for _, id := range ids {
		if n := tr.count(id); n != 0 {
			t.Fatalf("row %d sent while mail was being received", id)
		}
	}
	receiving.Store(false)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if n := tr.count(id); n != 1 {
			t.Errorf("row %d sent %d times once intake paused, want once", id, n)
		}
	}
}
