package desk_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/desk"
	"github.com/ticketd/ticketd/store/postgres/pgtest"
)

// Two ticketd processes on one PostgreSQL database, each serving the desk:
// an agent sees the same UIDVALIDITY and UIDs on both, and moves made at
// the same moment through both give each ticket a UID of its own, the one
// each MOVE answered and both desks then show.
func TestTwoDesksOneDatabase(t *testing.T) {
	dir := t.TempDir()
	cfg := daemontest.BaseConfig(dir)
	st := config.Store{Driver: config.DriverPostgres, DSN: pgtest.Shared(t).NewDB(t)}
	var desks [2]*deskEnv
	for i := range desks {
		e := &deskEnv{Env: daemontest.StartStore(t, cfg, st), t: t}
		e.serve()
		desks[i] = e
	}
	if err := desk.SetPassword(context.Background(), desks[0].D.Store, desks[0].D.Config(), ana, "secreto-ana", desks[0].Clock.Now()); err != nil {
		t.Fatal(err)
	}
	tickets := []int64{
		desks[0].open(carla, "Carla Ruiz", "No puedo entrar", "Hola."),
		desks[1].open(pedro, "Pedro Gil", "Factura", "Hola."),
	}
	c0, c1 := desks[0].login(ana), desks[1].login(ana)
	in0 := folder(t, c0, "INBOX")
	v0 := lastValidity
	in1 := folder(t, c1, "INBOX")
	if v1 := lastValidity; v0 == 0 || v0 != v1 {
		t.Fatalf("UIDVALIDITY %d on one process, %d on the other", v0, v1)
	}
	uids := func(ms []msg) []imap.UID {
		var out []imap.UID
		for _, m := range ms {
			out = append(out, m.uid)
		}
		return out
	}
	if len(in0) != 2 || !slices.Equal(uids(in0), uids(in1)) {
		t.Fatalf("INBOX: %v on one process, %v on the other", uids(in0), uids(in1))
	}

	// Each process takes one ticket for Ana, at the same time.
	var wg sync.WaitGroup
	dest := make([]imap.UID, 2)
	errs := make([]error, 2)
	for i, c := range []*imapclient.Client{c0, c1} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data, err := c.Move(imap.UIDSetNum(in0[i].uid), "Mios").Wait()
			errs[i] = err
			if err != nil || data == nil {
				return
			}
			if set, ok := data.DestUIDs.(imap.UIDSet); ok {
				if got, ok := set.Nums(); ok && len(got) == 1 {
					dest[i] = got[0]
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || dest[i] == 0 {
			t.Fatalf("MOVE %d: %v, COPYUID %d", i, err, dest[i])
		}
	}
	if dest[0] == dest[1] || dest[0] <= max(in0[0].uid, in0[1].uid) || dest[1] <= max(in0[0].uid, in0[1].uid) {
		t.Fatalf("the moves gave UIDs %v; want two different ones above %v", dest, uids(in0))
	}
	want := slices.Sorted(slices.Values(dest))
	for i, c := range []*imapclient.Client{c0, c1} {
		if mine := folder(t, c, "Mios"); !slices.Equal(uids(mine), want) {
			t.Fatalf("Mios on process %d: %v, want %v", i+1, uids(mine), want)
		}
	}
	for _, n := range tickets {
		if tk := desks[1].ticket(n); tk.Assignee != ana {
			t.Fatalf("ticket #%d assignee %q after the move", n, tk.Assignee)
		}
	}
}
