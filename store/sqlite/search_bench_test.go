package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd"
)

// BenchmarkSearch measures searches ranked by the bm25 SQL function over
// FTS4's matchinfo on 20,000 stored messages: two words that most messages
// hold (every match is ranked), and a word one message in a hundred holds:
//
//	go test -run '^$' -bench Search ./store/
func BenchmarkSearch(b *testing.B) {
	s, err := Open(b.TempDir()+"/bench.db", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	words := strings.Fields("hola factura impresora cuenta contraseña pedido envío devolución pago tarjeta error pantalla " +
		"correo acceso usuario bloqueado gracias saludos cliente problema ayer hoy mañana semana mes precio oferta")
	rng := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for t := 0; t < 200; t++ {
		if err := s.update(context.Background(), func(tx *Tx) error {
			for i := 0; i < 100; i++ {
				tk := &ticketd.Ticket{Token: fmt.Sprintf("tok%d-%d", t, i), Mailbox: "soporte@example.com", RequesterAddr: "c@x.example",
					Status: ticketd.StatusNuevo, CreatedAt: at, UpdatedAt: at}
				if err := tx.CreateTicket(tk); err != nil {
					return err
				}
				var text []string
				for w := 0; w < 60; w++ {
					text = append(text, words[rng.IntN(len(words))])
				}
				if i == 0 {
					text = append(text, "escáner")
				}
				body := strings.Join(text, " ")
				if err := tx.InsertMessage(&ticketd.Message{Ticket: tk.Number, Author: ticketd.AuthorCustomer, Subject: words[rng.IntN(len(words))],
					Text: body, NewText: body, CreatedAt: at}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.IndexSearch(context.Background()); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name, query string
		hits        int
	}{{"common", "factura impresora", 50}, {"rare", "escaner", 50}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := s.view(context.Background(), func(tx *Tx) error {
					hits, err := tx.Search(ticketd.SearchQuery{Text: c.query, Limit: 50})
					if err == nil && len(hits) != c.hits {
						err = fmt.Errorf("%d hits", len(hits))
					}
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
