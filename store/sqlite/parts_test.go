package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ticketd/ticketd"
)

// A message stored before migration 0006 (testdata/fts5-v3.db) says its
// decoded parts were not kept, so its readers fall back to its raw mail;
// one stored after it in the same database has them.
func TestMessagesBeforePartsWereKept(t *testing.T) {
	old, err := os.ReadFile("testdata/fts5-v3.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ticketd.db")
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open old database: %v", err)
	}
	defer s.Close()
	var newID int64
	if err := s.update(context.Background(), func(tx *Tx) error {
		tk, err := newTicket(tx, "tok-new")
		if err != nil {
			return err
		}
		m := &ticketd.Message{Ticket: tk.Number, Author: ticketd.AuthorCustomer, Text: "x", NewText: "x", HTML: "<p>x</p>", CreatedAt: time.Now(),
			Attachments: []ticketd.Attachment{{Filename: "a.txt", ContentType: "text/plain", Size: 1, Content: []byte("a")}}}
		err = tx.InsertMessage(m)
		newID = m.ID
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.view(context.Background(), func(tx *Tx) error {
		var oldID int64
		if err := tx.queryRow(`SELECT MIN(id) FROM messages`).Scan(&oldID); err != nil {
			return err
		}
		if html, kept, err := tx.MessageHTML(oldID); err != nil || kept || html != "" {
			t.Errorf("old message: MessageHTML = %q, kept %v, %v; want not kept", html, kept, err)
		}
		if html, kept, err := tx.MessageHTML(newID); err != nil || !kept || html != "<p>x</p>" {
			t.Errorf("new message: MessageHTML = %q, kept %v, %v", html, kept, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Forgetting an address also erases the decoded bytes of its attachments
// and the HTML of its messages.
func TestForgetErasesDecodedParts(t *testing.T) {
	s, _ := openTest(t)
	if err := s.update(context.Background(), func(tx *Tx) error {
		tk, err := newTicket(tx, "tok-forget")
		if err != nil {
			return err
		}
		return tx.InsertMessage(&ticketd.Message{Ticket: tk.Number, Author: ticketd.AuthorCustomer, FromAddr: "c@x.example", Text: "x", NewText: "x",
			HTML: "<p>DNI 4471-CARLA</p>", CreatedAt: time.Now(),
			Attachments: []ticketd.Attachment{{Filename: "dni.txt", ContentType: "text/plain", Size: 10, Content: []byte("4471-CARLA")}}})
	}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Forget(context.Background(), "c@x.example")
	if err != nil || rep.Attachments != 1 {
		t.Fatalf("Forget: %+v %v", rep, err)
	}
	if err := s.view(context.Background(), func(tx *Tx) error {
		var data, html int
		if err := tx.queryRow(`SELECT COUNT(*) FROM attachment_data`).Scan(&data); err != nil {
			return err
		}
		if err := tx.queryRow(`SELECT COUNT(*) FROM messages WHERE html LIKE '%CARLA%'`).Scan(&html); err != nil {
			return err
		}
		if data != 0 || html != 0 {
			t.Errorf("after Forget: %d attachment bytes rows, %d messages with the HTML", data, html)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
