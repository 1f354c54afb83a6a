package intake_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/intake"
	"github.com/ticketd/ticketd/store/sqlite"
)

// FuzzDeliver feeds arbitrary bytes through the whole intake into a real
// store: every input is either refused as not a mail or stored with its raw
// bytes intact, never a panic, never a half-written ticket.
func FuzzDeliver(f *testing.F) {
	for _, seed := range []string{
		"From: carla@cliente.example\r\nTo: soporte@example.com\r\nSubject: Hola\r\n\r\nHola.\r\n",
		"From: ana@example.com\r\nIn-Reply-To: <tkd.aaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbb@x>\r\nSubject: [#1]\r\n\r\n#cerrar\r\n",
		"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\n--x--",
		"",
	} {
		f.Add([]byte(seed), "soporte@example.com")
	}
	if files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "jhillyerd-enmime", "testdata", "mail", "*.raw")); len(files) > 0 {
		for _, p := range files[:min(len(files), 20)] {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b, "soporte+aaaaaaaaaaaaaaaaaaaaaaaa@example.com")
			}
		}
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "ticketd.toml")
	if err := os.WriteFile(path, []byte(daemontest.BaseConfig(dir)), 0o600); err != nil {
		f.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		f.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(dir, "t.db"), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	desk := intake.New(st, cfg, []byte("0123456789abcdef0123456789abcdef"), func() time.Time { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) }, quiet)
	f.Fuzz(func(t *testing.T, raw []byte, rcpt string) {
		res, err := desk.Deliver(context.Background(), intake.Envelope{Source: "fuzz", From: "x@y.example", Rcpts: []string{rcpt}}, raw)
		switch {
		case errors.Is(err, intake.ErrNotMail), errors.Is(err, intake.ErrUnknownRecipient):
			return
		case err != nil:
			t.Fatalf("Deliver: %v", err)
		}
		if res.Duplicate {
			return
		}
		// A mail lands on one ticket, except an agent's to the support
		// address itself (#lista, or anything that is not a forward), which
		// opens none; either way its bytes are kept.
		if len(res.Tickets) > 1 || res.RawID == 0 {
			t.Fatalf("result %+v", res)
		}
		st.View(context.Background(), func(tx ticketd.Tx) error {
			r, err := tx.Raw(res.RawID)
			if err != nil || string(r.Data) != string(raw) {
				t.Fatalf("raw bytes not kept exactly (%v)", err)
			}
			if len(res.Tickets) == 0 {
				return nil
			}
			tk, err := tx.TicketByNumber(res.Tickets[0])
			if err != nil || strings.ContainsAny(tk.Subject, "\r\n") {
				t.Fatalf("ticket %+v, %v", tk, err)
			}
			return nil
		})
	})
}
