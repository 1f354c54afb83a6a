package desk_test

import (
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func uidSearch(t *testing.T, c *imapclient.Client, cr *imap.SearchCriteria) []imap.UID {
	t.Helper()
	data, err := c.UIDSearch(cr, nil).Wait()
	if err != nil {
		t.Fatalf("search %+v: %v", cr, err)
	}
	return data.AllUIDs()
}

// SEARCH finds words of the conversation (without regard to case or
// accents), senders and subjects.
func TestSearch(t *testing.T) {
	e := startDesk(t, "")
	e.open(carla, "Carla Ruiz", "No puedo entrar", "La contraseña no funciona desde ayer.")
	e.open(pedro, "Pedro Gil", "Factura duplicada", "Me han cobrado dos veces el mes de octubre.")
	c := e.login(ana)
	inbox := folder(t, c, "INBOX")
	carlaUID, pedroUID := inbox[0].uid, inbox[1].uid
	for _, tc := range []struct {
		name string
		cr   imap.SearchCriteria
		want []imap.UID
	}{
		{"body word without accent", imap.SearchCriteria{Body: []string{"contrasena"}}, []imap.UID{carlaUID}},
		{"text word", imap.SearchCriteria{Text: []string{"OCTUBRE"}}, []imap.UID{pedroUID}},
		{"from name", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "carla"}}}, []imap.UID{carlaUID}},
		{"from address", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "pedro@cliente"}}}, []imap.UID{pedroUID}},
		{"subject", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "factura"}}}, []imap.UID{pedroUID}},
		{"unseen", imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, []imap.UID{carlaUID, pedroUID}},
		{"nothing", imap.SearchCriteria{Body: []string{"impresora"}}, nil},
		{"not", imap.SearchCriteria{Not: []imap.SearchCriteria{{Body: []string{"contraseña"}}}}, []imap.UID{pedroUID}},
	} {
		if got := uidSearch(t, c, &tc.cr); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// IDLE tells a connected client of a new ticket, and of a ticket that left
// the folder, without the client asking again.
func TestIdleReportsChanges(t *testing.T) {
	e := startDesk(t, "")
	n := e.open(carla, "Carla Ruiz", "No puedo entrar", "Hola.")
	exists := make(chan uint32, 8)
	expunged := make(chan uint32, 8)
	c := e.login(ana, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
		Expunge: func(seq uint32) { expunged <- seq },
	}})
	folder(t, c, "INBOX")
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	wait := func(ch chan uint32, what string, want uint32) {
		t.Helper()
		select {
		case got := <-ch:
			if got != want {
				t.Fatalf("%s %d, want %d", what, got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s while idling", what)
		}
	}
	e.open(pedro, "Pedro Gil", "Factura duplicada", "Hola.")
	wait(exists, "EXISTS", 2)
	e.reply(n, ana, "Hola Carla, resuelto.")
	wait(expunged, "EXPUNGE", 1)
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}
