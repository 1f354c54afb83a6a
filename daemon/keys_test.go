package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/intake"
	"github.com/ticketd/ticketd/replykeys"
)

// After a key rotation beside the running daemon, new notifications carry
// reply addresses signed with the new key, and an agent who answers an
// older notification is still relayed to the customer until
// old_keys_valid_for has passed; after that the old address is unverified.
// On both engines: the keys in data_dir, or in the PostgreSQL database,
// which the daemon reads again within replykeys.SharedRefresh.
func TestKeyRotationKeepsOldAddressesForAWhile(t *testing.T) {
	e := daemontest.Start(t, strings.Replace(daemontest.BaseConfig(t.TempDir()), "[server]\n", "[server]\nold_keys_valid_for = \"240h\"\n", 1))
	tk, _ := openTicket(t, e, "carla@cliente.example", "Pedido 7")
	oldAddr := agentAddress(t, e, tk)

	daemontest.RotateKey(e)
	e.Clock.Advance(replykeys.SharedRefresh)
	// A new notification (Carla writes again) carries a new address.
	e.MustSend("carla@cliente.example", []string{"soporte+" + tk.Token + "@example.com"}, mail(
		"From: carla@cliente.example", "To: soporte+"+tk.Token+"@example.com", "Subject: Re: [#1] Pedido 7",
		"Message-ID: <again@cliente.example>", "", "¿Alguna novedad?"))
	var newAddr string
	for _, m := range daemontest.To(e.Flush(), "ana@example.com") {
		newAddr = replyTo(t, parse(t, m))
	}
	if newAddr == "" || newAddr == oldAddr {
		t.Fatalf("notification after rotation: reply address %q (old %q)", newAddr, oldAddr)
	}

	answer := func(to, id, text string) {
		e.MustSend("ana@example.com", []string{to}, mail("From: Ana Pérez <ana@example.com>", "To: "+to,
			"Subject: Re: [#1] Pedido 7", "Message-ID: <"+id+"@example.com>", "", text))
	}
	// Nine days on, the old address still works…
	e.Clock.Advance(9 * 24 * time.Hour)
	answer(oldAddr, "a1", "Su pedido sale hoy.")
	if got := daemontest.To(e.Flush(), "carla@cliente.example"); len(got) != 1 || !strings.Contains(string(got[0].Data), "Su pedido sale hoy.") {
		t.Fatalf("answer through the old key's address not relayed: %d mails", len(got))
	}
	// …and so does the new one.
	answer(newAddr, "a2", "Ya está en camino.")
	if got := daemontest.To(e.Flush(), "carla@cliente.example"); len(got) != 1 {
		t.Fatalf("answer through the new key's address not relayed")
	}
	// Past old_keys_valid_for the old key verifies nothing.
	e.Clock.Advance(2 * 24 * time.Hour)
	answer(oldAddr, "a3", "Texto tardío.")
	if got := daemontest.To(e.Flush(), "carla@cliente.example"); len(got) != 0 {
		t.Fatalf("the expired key's address was relayed")
	}
	msgs := messages(t, e, tk.Number)
	if last := msgs[len(msgs)-1]; !last.Unverified {
		t.Fatalf("answer through an expired key's address: %+v", last)
	}
}

// Two processes on one database (or one data_dir): after a rotation, the
// first signs with the new key once it has read the keys again; the
// second, which has not yet, accepts an agent's answer to that new
// address at once (a reply address no key in memory verifies makes it
// read the keys again), keeps accepting the old one, and signs with the
// new key from then on.
func TestKeyRotationReachesEveryProcess(t *testing.T) {
	text := daemontest.BaseConfig(t.TempDir())
	a := daemontest.Start(t, text)
	b := daemontest.StartStore(t, text, a.Config.Store)
	tk, _ := openTicket(t, a, "carla@cliente.example", "Pedido 9")
	oldAddr := agentAddress(t, a, tk)
	if got := agentAddress(t, b, tk); got != oldAddr {
		t.Fatalf("the two processes sign with different keys: %q, %q", oldAddr, got)
	}

	daemontest.RotateKey(a)
	notification := func(e *daemontest.Env, id string) string {
		t.Helper()
		e.MustSend("carla@cliente.example", []string{"soporte+" + tk.Token + "@example.com"}, mail(
			"From: carla@cliente.example", "To: soporte+"+tk.Token+"@example.com", "Subject: Re: [#1] Pedido 9",
			"Message-ID: <"+id+"@cliente.example>", "", "¿Alguna novedad? "+id))
		got := daemontest.To(e.Flush(), "ana@example.com")
		if len(got) != 1 {
			t.Fatalf("notifications to ana: %d", len(got))
		}
		return replyTo(t, parse(t, got[0]))
	}
	a.Clock.Advance(replykeys.SharedRefresh)
	newAddr := notification(a, "c2")
	if newAddr == oldAddr {
		t.Fatalf("the first process still signs with the old key after %s", replykeys.SharedRefresh)
	}

	answer := func(to, id, text string) {
		t.Helper()
		b.MustSend("ana@example.com", []string{to}, mail("From: Ana Pérez <ana@example.com>", "To: "+to,
			"Subject: Re: [#1] Pedido 9", "Message-ID: <"+id+"@example.com>", "", text))
		got := daemontest.To(b.Flush(), "carla@cliente.example")
		if len(got) != 1 || !strings.Contains(string(got[0].Data), text) {
			t.Fatalf("ana's answer through %s was not relayed to carla by the second process: %d mails", to, len(got))
		}
	}
	answer(newAddr, "a1", "Su pedido sale hoy.")
	answer(oldAddr, "a2", "Y llega el lunes.")
	if got := notification(b, "c3"); got != newAddr {
		t.Fatalf("the second process signs %q, want the new key's %q", got, newAddr)
	}
	for _, m := range messages(t, b, tk.Number) {
		if m.Unverified {
			t.Fatalf("a message was taken as unverified: %+v", m)
		}
	}
}

// A data_dir whose database holds tickets but whose reply.key is gone is
// refused, naming the file; a fresh data_dir gets a key.
func TestMissingReplyKeyIsRefused(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(daemontest.BaseConfig(dir)), "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := daemon.OpenParts(cfg, daemon.Options{})
	if err != nil {
		t.Fatalf("fresh data_dir: %v", err)
	}
	if _, err := p.Desk.Deliver(t.Context(), intake.Envelope{Source: "inject", From: "carla@cliente.example", Rcpts: []string{"soporte@example.com"}},
		[]byte(mail("From: carla@cliente.example", "To: soporte@example.com", "Subject: Hola", "", "Hola"))); err != nil {
		t.Fatal(err)
	}
	p.Store.Close()
	keyFile := filepath.Join(cfg.Server.DataDir, replykeys.File)
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	_, err = daemon.OpenParts(cfg, daemon.Options{})
	if err == nil || !strings.Contains(err.Error(), keyFile+" does not exist") || !strings.Contains(err.Error(), "holds tickets") {
		t.Fatalf("missing key with tickets: %v", err)
	}
}
