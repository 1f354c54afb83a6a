package desk_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/desk"
	"github.com/ticketd/ticketd/store"
	"github.com/ticketd/ticketd/store/storetest"
)

func loginErr(t *testing.T, addr, user, pass string) error {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.Login(user, pass).Wait()
}

func isAuthFailed(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo && ie.Code == imap.ResponseCodeAuthenticationFailed
}

// A wrong password and an unknown user get the same answer, and an
// address that keeps failing is answered ever more slowly.
func TestLoginFailures(t *testing.T) {
	e := startDesk(t, "")
	for _, c := range []struct{ user, pass string }{
		{ana, "wrong"},
		{"nobody@example.com", "secreto-nobody"},
		{"carla@cliente.example", "x"},
	} {
		if err := loginErr(t, e.addr, c.user, c.pass); !isAuthFailed(err) {
			t.Fatalf("login %s/%s: %v, want NO [AUTHENTICATIONFAILED]", c.user, c.pass, err)
		}
	}
	e.mu.Lock()
	if len(e.sleeps) != 0 {
		t.Fatalf("slowed down within the first attempts: %v", e.sleeps)
	}
	e.mu.Unlock()
	for range 3 {
		loginErr(t, e.addr, ana, "wrong")
	}
	e.mu.Lock()
	got := append([]time.Duration(nil), e.sleeps...)
	e.mu.Unlock()
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}; !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	// The right password still works (after the wait), and clears the slate.
	if err := loginErr(t, e.addr, ana, "secreto-ana"); err != nil {
		t.Fatalf("right password after failures: %v", err)
	}
	e.mu.Lock()
	e.sleeps = nil
	e.mu.Unlock()
	loginErr(t, e.addr, ana, "wrong")
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.sleeps) != 0 {
		t.Fatalf("a success did not reset the count: %v", e.sleeps)
	}
}

// Only agents get a desk password, and an agent removed from the config
// cannot log in, though her hash is still stored.
func TestLoginNeedsAgent(t *testing.T) {
	e := startDesk(t, "")
	if err := desk.SetPassword(context.Background(), e.D.Store, e.D.Config(), "carla@cliente.example", "x", e.Clock.Now()); !errors.Is(err, desk.ErrNotAgent) {
		t.Fatalf("set-password for a customer: %v", err)
	}
	cfg := *e.D.Config()
	cfg.Mailboxes = append([]config.Mailbox(nil), cfg.Mailboxes...)
	cfg.Mailboxes[0].Agents = []string{luis}
	cfg.Agents = []config.Agent{{Email: luis, Name: "Luis García"}}
	e.D.Reload(&cfg)
	if err := loginErr(t, e.addr, ana, "secreto-ana"); !isAuthFailed(err) {
		t.Fatalf("login of an agent removed from the config: %v", err)
	}
}

// UIDVALIDITY and UIDs stay the same when the daemon restarts, and change
// only when the mailboxes an agent serves change.
func TestUIDsStableAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(daemontest.BaseConfig(dir)), "")
	if err != nil {
		t.Fatal(err)
	}
	daemontest.UseEngine(t, cfg)
	clock := daemontest.NewClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	start := func(cfg *config.Config) (ticketd.Store, string, func()) {
		st, err := store.OpenConfig(context.Background(), cfg, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv := desk.New(desk.Options{Store: st, Config: func() *config.Config { return cfg }, Key: []byte("k"), Now: clock.Now,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(l)
		return st, l.Addr().String(), func() { srv.Close(); st.Close() }
	}
	look := func(addr string) (uint32, []imap.UID) {
		t.Helper()
		c, err := imapclient.DialInsecure(addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login(ana, "pw-ana").Wait(); err != nil {
			t.Fatal(err)
		}
		sel, err := c.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		data, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		return sel.UIDValidity, data.AllUIDs()
	}
	st, addr, stop := start(cfg)
	if err := desk.SetPassword(context.Background(), st, cfg, ana, "pw-ana", clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx ticketd.Tx) error {
		for _, tok := range []string{"tok-a", "tok-b"} {
			if _, err := storetest.NewTicket(tx, tok, "carla@cliente.example"); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	v1, uids1 := look(addr)
	stop()
	clock.Advance(time.Hour)
	_, addr, stop = start(cfg)
	v2, uids2 := look(addr)
	stop()
	if v1 == 0 || v1 != v2 || len(uids1) != 2 || !slices.Equal(uids1, uids2) {
		t.Fatalf("before restart %d %v, after %d %v", v1, uids1, v2, uids2)
	}
	// Ana now serves a second mailbox: her old UIDs no longer describe it.
	cfg2, err := config.Parse([]byte(withVentas(dir)), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg2.Mailboxes[1].Agents = []string{ana, luis}
	cfg2.Store = cfg.Store
	_, addr, stop = start(cfg2)
	defer stop()
	if v3, _ := look(addr); v3 == v1 {
		t.Fatalf("UIDVALIDITY %d kept after the agent's mailboxes changed", v3)
	}
}
