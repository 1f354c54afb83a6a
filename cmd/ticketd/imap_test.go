package main

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/imapgw/imapgwtest"
)

func imapBlock(dv *imapgwtest.Dovecot, password string) string {
	return fmt.Sprintf("\n[[imap]]\naddr = %q\ntls = \"none\"\nusername = %q\npassword = %q\nmailbox = \"soporte@example.com\"\n",
		dv.Addr, imapgwtest.User, password)
}

// serve starts one gateway per [[imap]] entry, feeding the daemon's intake.
func TestServeTakesIMAPMail(t *testing.T) {
	dv := imapgwtest.Start(t)
	e := daemontest.Start(t, daemontest.BaseConfig(t.TempDir())+imapBlock(dv, imapgwtest.Password))
	e.Clock.Set(time.Now().UTC())
	if err := startIMAP(e.D, e.Config); err != nil {
		t.Fatal(err)
	}
	dv.Append("INBOX", imapgwtest.Mail{Raw: "From: Carla <carla@cliente.example>\r\nTo: soporte@example.com\r\n" +
		"Subject: Desde el buzón\r\nMessage-ID: <imap-1@cliente.example>\r\n\r\nHola.\r\n"})

	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
			ts, err := tx.ListTickets(ticketd.TicketFilter{})
			n = len(ts)
			return err
		})
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d tickets after 10s, want 1", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(daemontest.To(e.Flush(), "carla@cliente.example")) != 1 {
		t.Error("no acknowledgement for the IMAP mail")
	}
	// The pass is on the metrics, as the time it completed.
	srv := httptest.NewServer(e.D.Metrics.Handler())
	defer srv.Close()
	key := fmt.Sprintf(`ticketd_imap_last_success_timestamp_seconds{account=%q,folder="INBOX"}`, imapgwtest.User+"@"+dv.Addr)
	waitFor(t, key, func() bool { _, ok := scrape(t, srv.URL+"/metrics")[key]; return ok })
	if v := scrape(t, srv.URL+"/metrics")[key]; math.Abs(v-float64(e.Clock.Now().Unix())) > 60 {
		t.Errorf("%s = %v, want about %d", key, v, e.Clock.Now().Unix())
	}
}

// check-config --connect logs in and names what failed.
func TestCheckConfigConnect(t *testing.T) {
	dv := imapgwtest.Start(t)
	dir := t.TempDir()
	_, good := writeConfig(t, daemontest.BaseConfig(dir)+imapBlock(dv, imapgwtest.Password))
	r := runBin(t, "", nil, "check-config", "--connect", "-config", good)
	if r.code != 0 || !strings.Contains(r.stdout, "login ok") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}

	_, bad := writeConfig(t, daemontest.BaseConfig(dir)+imapBlock(dv, "not-the-password"))
	r = runBin(t, "", nil, "check-config", "--connect", "-config", bad)
	if r.code == 0 || !strings.Contains(r.stdout, "FAILED: imap: login as "+imapgwtest.User) {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "not-the-password") {
		t.Errorf("output shows the password:\n%s", r.stdout)
	}

	// Without --connect nothing is dialled.
	r = runBin(t, "", nil, "check-config", "-config", bad)
	if r.code != 0 {
		t.Errorf("check-config without --connect: exit %d", r.code)
	}
}
