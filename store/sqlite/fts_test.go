package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ticketd/ticketd"
)

// searchFor runs one search and returns the hits' ticket numbers, best first.
func searchFor(t *testing.T, s *Store, text string) ([]int64, []ticketd.SearchHit) {
	t.Helper()
	var hits []ticketd.SearchHit
	if err := s.view(context.Background(), func(tx *Tx) error {
		var err error
		hits, err = tx.Search(ticketd.SearchQuery{Text: text})
		return err
	}); err != nil {
		t.Fatalf("search %q: %v", text, err)
	}
	var nums []int64
	for _, h := range hits {
		nums = append(nums, h.Ticket.Number)
	}
	return nums, hits
}

// addMessage stores one customer message on a new ticket and returns its number.
func addMessage(t *testing.T, s *Store, token, subject, text string) int64 {
	t.Helper()
	var n int64
	if err := s.update(context.Background(), func(tx *Tx) error {
		tk, err := newTicket(tx, token)
		if err != nil {
			return err
		}
		n = tk.Number
		return tx.InsertMessage(&ticketd.Message{Ticket: n, Author: ticketd.AuthorCustomer, Subject: subject, Text: text, NewText: text,
			CreatedAt: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)})
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// Search runs on FTS4, which the plain build has: accents and case are
// ignored both ways, words match as prefixes, and the message where the
// words weigh most comes first.
func TestSearchIgnoresAccentsAndRanks(t *testing.T) {
	s, _ := openTest(t)
	once := addMessage(t, s, "tok-once", "Consulta", "Buenos días, les escribo por una cuestión general: "+
		"quería saber el horario de atención, si tienen oficina en Sevilla, y de paso si la facturación de este mes ya está.")
	most := addMessage(t, s, "tok-most", "Facturación duplicada", "La facturación de octubre llegó dos veces.")
	cafe := addMessage(t, s, "tok-cafe", "CAFÉ", "La máquina de café no funciona")
	other := addMessage(t, s, "tok-other", "Impresora", "Atasco de papel")
	if _, err := s.IndexSearch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, hits := searchFor(t, s, "facturacion"); len(got) != 2 || got[0] != most || got[1] != once {
		t.Fatalf("facturacion: %v, want [%d %d] (the ticket about it first)", got, most, once)
	} else if hits[0].Snippet == "" || hits[0].Rank >= hits[1].Rank || hits[0].Match != "text" {
		t.Fatalf("facturacion hits: %+v", hits)
	}
	for _, q := range []string{"cafe", "Café", "CAFE maquina"} {
		if got, hits := searchFor(t, s, q); len(got) != 1 || got[0] != cafe {
			t.Fatalf("%q: %v, want [%d]", q, got, cafe)
		} else if q == "cafe" && hits[0].Snippet != "[CAFÉ]" && hits[0].Snippet != "La máquina de [café] no funciona" {
			t.Fatalf("%q snippet %q", q, hits[0].Snippet)
		}
	}
	if got, _ := searchFor(t, s, "impres"); len(got) != 1 || got[0] != other {
		t.Fatalf("prefix impres: %v, want [%d]", got, other)
	}
	// Query syntax is taken literally, never as operators.
	if got, _ := searchFor(t, s, `"OR" NEAR(* -papel`); len(got) != 0 {
		t.Fatalf("operators matched: %v", got)
	}
	// An edited message is found by its new words only.
	if err := s.update(context.Background(), func(tx *Tx) error {
		_, err := tx.exec("edit", `UPDATE messages SET new_text = 'Tóner agotado' WHERE ticket = ?`, other)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := searchFor(t, s, "atasco"); len(got) != 0 {
		t.Fatalf("old words still found: %v", got)
	}
	if got, _ := searchFor(t, s, "toner"); len(got) != 1 || got[0] != other {
		t.Fatalf("new words: %v", got)
	}
}

// A database made while search was on FTS5 (testdata/fts5-v3.db, written
// by ticketd's binary built with -tags sqlite_fts5 before migration 0004)
// opens in the plain build: the FTS5 table and its triggers are gone, the
// old mails are found through FTS4, and new mail is stored and indexed.
func TestOldFTS5DatabaseMovesToFTS4(t *testing.T) {
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
	var leftover int
	if err := s.view(context.Background(), func(tx *Tx) error {
		return tx.queryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'message\_search%' ESCAPE '\'`).Scan(&leftover)
	}); err != nil || leftover != 0 {
		t.Fatalf("FTS5 objects left: %d %v", leftover, err)
	}
	if got, _ := searchFor(t, s, "impresora"); len(got) != 1 || got[0] != 1 {
		t.Fatalf("impresora in the old database: %v, want [1]", got)
	}
	if got, hits := searchFor(t, s, "facturacion"); len(got) != 1 || got[0] != 2 || hits[0].Snippet == "" {
		t.Fatalf("facturacion in the old database: %+v", hits)
	}
	n := addMessage(t, s, "tok-new", "Escáner", "El escáner no enciende")
	if _, err := s.IndexSearch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := searchFor(t, s, "escaner"); len(got) != 1 || got[0] != n {
		t.Fatalf("new mail after the move: %v, want [%d]", got, n)
	}
	// The old triggers are gone: changing an old message works.
	if err := s.update(context.Background(), func(tx *Tx) error {
		_, err := tx.exec("edit", `UPDATE messages SET new_text = 'x' WHERE ticket = 1`)
		return err
	}); err != nil {
		t.Fatalf("update an old message: %v", err)
	}
	s.Close()
	// And it opens again (the migration is recorded).
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s2.Close()
}
