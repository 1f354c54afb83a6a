package daemon_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/mailer"
)

// recorder is a transport that keeps what it was given, and can hold a
// delivery until released, as a smarthost that stalls.
type recorder struct {
	mu      sync.Mutex
	sent    map[int64]int
	hold    chan struct{} // while non-nil, deliveries wait on it
	holding chan int64    // reports a delivery that is being held
}

func newRecorder() *recorder { return &recorder{sent: map[int64]int{}} }

func (r *recorder) Send(ctx context.Context, id int64, _ *mailer.Composed) error {
	r.mu.Lock()
	hold := r.hold
	r.mu.Unlock()
	if hold != nil {
		r.holding <- id
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	r.sent[id]++
	r.mu.Unlock()
	return nil
}

func (r *recorder) count(id int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent[id]
}

// twoWorkers returns the daemon's composer in two outbox workers on one
// store, as two processes would run them, with short leases on real time.
func twoWorkers(t *testing.T, e *daemontest.Env, a, b *recorder, lagA time.Duration) (*mailer.Worker, *mailer.Worker) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	mk := func(tr mailer.Transport, now func() time.Time) *mailer.Worker {
		return &mailer.Worker{Store: e.D.Store, Composer: e.D.Worker.Composer, Transport: tr, Now: now, Log: quiet,
			Concurrency: 1, Lease: 300 * time.Millisecond, RenewEvery: 50 * time.Millisecond}
	}
	return mk(a, func() time.Time { return time.Now().Add(-lagA) }), mk(b, time.Now)
}

func queued(t *testing.T, e *daemontest.Env) []*ticketd.Outgoing {
	var due []*ticketd.Outgoing
	if err := e.D.Store.View(context.Background(), func(tx ticketd.Tx) (err error) {
		due, err = tx.DueOutgoing(time.Now().Add(time.Hour), 100)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return due
}

// A worker whose smarthost stalls keeps its lease while it waits: another
// worker on the same database, polling all along, never sends that row,
// and when the stalled delivery ends the row has gone out once.
func TestLeaseHeldWhileSending(t *testing.T) {
	e := daemontest.Start(t, "")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"},
		"From: carla@cliente.example\r\nTo: soporte@example.com\r\nSubject: Lenta\r\n\r\nHola\r\n")
	rows := queued(t, e)
	if len(rows) != 3 {
		t.Fatalf("%d rows queued, want the acknowledgement and two notifications", len(rows))
	}
	slow, other := newRecorder(), newRecorder()
	slow.hold, slow.holding = make(chan struct{}), make(chan int64, 1)
	a, b := twoWorkers(t, e, slow, other, 0)
	done := make(chan error, 1)
	go func() { _, err := a.RunOnce(context.Background()); done <- err }()
	held := <-slow.holding
	// Six leases long, the other worker tries again and again.
	for end := time.Now().Add(6 * a.Lease); time.Now().Before(end); {
		if _, err := b.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := other.count(held); n != 0 {
		t.Fatalf("the row held by a stalled sender was sent %d times by another", n)
	}
	close(slow.hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, o := range rows {
		if n := slow.count(o.ID) + other.count(o.ID); n != 1 {
			t.Errorf("row %d (%s) sent %d times", o.ID, o.Kind, n)
		}
	}
	if slow.count(held) != 1 {
		t.Errorf("the stalled delivery was not the one recorded")
	}
	if left := queued(t, e); len(left) != 0 {
		t.Errorf("%d rows still queued", len(left))
	}
}

// A worker that fell behind its lease (its renewals come too late, as in
// a process that stalled) finds the row taken over: it stops that
// delivery and records nothing, and the row goes out once, from the other.
func TestLeaseLostStopsDelivery(t *testing.T) {
	e := daemontest.Start(t, "")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"},
		"From: carla@cliente.example\r\nTo: soporte@example.com\r\nSubject: Perdida\r\n\r\nHola\r\n")
	rows := queued(t, e)
	slow, other := newRecorder(), newRecorder()
	slow.hold, slow.holding = make(chan struct{}), make(chan int64, 1)
	// a's clock runs a second late: the lease it takes has already ended
	// for everyone else.
	a, b := twoWorkers(t, e, slow, other, time.Second)
	done := make(chan error, 1)
	go func() { _, err := a.RunOnce(context.Background()); done <- err }()
	held := <-slow.holding
	if _, err := b.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if other.count(held) != 1 {
		t.Fatalf("the other worker did not take the expired lease over")
	}
	// a's next renewal finds the row taken and ends its delivery.
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a lost lease is not an error of the pass: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the delivery whose lease was lost was not stopped")
	}
	for _, o := range rows {
		if n := slow.count(o.ID) + other.count(o.ID); n != 1 {
			t.Errorf("row %d (%s) sent %d times", o.ID, o.Kind, n)
		}
	}
}
