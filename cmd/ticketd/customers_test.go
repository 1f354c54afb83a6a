package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/intake"
	"github.com/ticketd/ticketd/threading"
)

// GDPR: customers export prints everything stored about an address, and
// customers forget --yes erases it so that no file of the data_dir holds a
// byte of it (the test greps them all), while the tickets stay as
// anonymous records and their tracking pages answer 404.
func TestCustomersExportAndForget(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	webPort := freePort(t)
	cfgText := strings.Replace(daemontest.BaseConfig(dir), filepath.Join(dir, "outbox"), filepath.Join(data, "outbox"), 1)
	cfgText = strings.Replace(cfgText, "[http]\nlisten = \"\"", fmt.Sprintf("[http]\nlisten = \"127.0.0.1:%d\"", webPort), 1)
	_, cfgPath := writeConfig(t, cfgText)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	parts, err := daemon.OpenParts(cfg, daemon.Options{Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(from, to, raw string) {
		t.Helper()
		if _, err := parts.Desk.Deliver(context.Background(), intake.Envelope{Source: "smtp", From: from, Rcpts: []string{to}}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
	}
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 contrato firmado por Carla Ruiz"))
	deliver("carla@cliente.example", "soporte@example.com", "From: Carla Ruiz <carla@cliente.example>\r\nTo: soporte@example.com\r\n"+
		"Subject: Contrato perdido\r\nMessage-ID: <c1@cliente.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"+
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMi número de cliente es 4471-CARLA y perdí el contrato.\r\n"+
		"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=contrato-carla.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"+pdf+"\r\n--b--\r\n")
	deliver("pedro@cliente.example", "soporte@example.com", "From: Pedro Gil <pedro@cliente.example>\r\nTo: soporte@example.com\r\nSubject: Factura\r\n"+
		"Message-ID: <p1@cliente.example>\r\n\r\nNo me llega la factura.\r\n")
	var carla, pedro *ticketd.Ticket
	parts.Store.View(context.Background(), func(tx ticketd.Tx) error {
		carla, _ = tx.TicketByNumber(1)
		pedro, _ = tx.TicketByNumber(2)
		return nil
	})
	agent := threading.AgentAddress("soporte@example.com", carla.Token, threading.AgentTag(parts.Key, carla.Token, "ana@example.com"))
	deliver("ana@example.com", agent, "From: Ana Pérez <ana@example.com>\r\nTo: "+agent+"\r\nSubject: Re: [#1] Contrato perdido\r\n"+
		"Message-ID: <a1@example.com>\r\nIn-Reply-To: <c1@cliente.example>\r\n\r\nHola Carla Ruiz, le enviamos una copia.\r\n\r\n"+
		"El lun, Carla Ruiz <carla@cliente.example> escribió:\r\n> Mi número de cliente es 4471-CARLA y perdí el contrato.\r\n")
	deliver("carla@cliente.example", "soporte+"+carla.Token+"@example.com", "From: Carla Ruiz <carla@cliente.example>\r\n"+
		"To: soporte+"+carla.Token+"@example.com\r\nSubject: Re: [#1] Contrato perdido\r\nMessage-ID: <c2@cliente.example>\r\n\r\nGracias, recibido.\r\n")
	if _, err := parts.Worker.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := parts.Store.IndexSearch(context.Background()); err != nil {
		t.Fatal(err)
	}
	parts.Store.Close()
	secrets := []string{"carla@cliente.example", "Carla Ruiz", "4471-CARLA", "contrato-carla", "Contrato perdido", "Gracias, recibido", carla.Token}
	if found := grepTree(t, data, secrets); len(found) == 0 {
		t.Fatal("the test mails left nothing to find; the grep proves nothing")
	}

	// export
	r := runBin(t, "", nil, "customers", "export", "Carla@Cliente.example", "-config", cfgPath)
	var exp struct {
		Address  string       `json:"address"`
		Names    []string     `json:"names"`
		Tickets  []ticketJSON `json:"tickets"`
		Messages []struct {
			Ticket int64 `json:"ticket"`
			messageJSON
		} `json:"messages"`
		RawMails  []map[string]any `json:"raw_mails"`
		MailsSent []struct {
			Kind string `json:"kind"`
		} `json:"mails_sent"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &exp); err != nil || r.code != 0 {
		t.Fatalf("export: %d %v %s %s", r.code, err, r.stdout, r.stderr)
	}
	if exp.Address != "carla@cliente.example" || len(exp.Names) != 1 || exp.Names[0] != "Carla Ruiz" || len(exp.Tickets) != 1 ||
		exp.Tickets[0].Number != 1 || len(exp.Tickets[0].Messages) != 3 || len(exp.Tickets[0].Events) == 0 ||
		len(exp.Messages) != 2 || len(exp.RawMails) != 2 || len(exp.MailsSent) == 0 || exp.MailsSent[0].Kind != "ack" {
		t.Fatalf("export: %s", r.stdout)
	}
	if a := exp.Messages[0].Attachments; len(a) != 1 || a[0].Name != "contrato-carla.pdf" || a[0].Size == 0 ||
		!strings.Contains(exp.Messages[0].Text, "4471-CARLA") {
		t.Fatalf("export of the first message: %+v", exp.Messages[0])
	}
	if strings.Contains(r.stdout, "pedro@") {
		t.Fatal("export holds another customer's data")
	}

	// An agent is not a customer.
	if r := runBin(t, "", nil, "customers", "forget", "ana@example.com", "--yes", "-config", cfgPath); r.code != 64 || !strings.Contains(r.stderr, "configured agent") {
		t.Fatalf("forget an agent: %d %q", r.code, r.stderr)
	}
	// forget needs --yes
	if r := runBin(t, "", nil, "customers", "forget", "carla@cliente.example", "-config", cfgPath); r.code != 64 || !strings.Contains(r.stderr, "--yes") {
		t.Fatalf("forget without --yes: %d %q", r.code, r.stderr)
	}
	if len(grepTree(t, data, secrets[:1])) == 0 {
		t.Fatal("forget without --yes erased something")
	}
	r = runBin(t, "", nil, "customers", "forget", "carla@cliente.example", "--yes", "-config", cfgPath)
	if r.code != 0 || !strings.Contains(r.stdout, "1 tickets kept as anonymous records") {
		t.Fatalf("forget: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if found := grepTree(t, data, secrets); len(found) > 0 {
		t.Fatalf("after forget the data_dir still holds: %v", found)
	}
	if found := grepTree(t, data, []string{"pedro@cliente.example", "No me llega la factura"}); len(found) == 0 {
		t.Fatal("forget erased another customer too")
	}

	// The ticket stays as an anonymous record.
	j := lcShow(t, ticketdBinary(t), cfgPath, 1)
	if j.Number != 1 || j.Status != string(carla.Status) && j.Status != "pendiente" && j.Status != "abierto" || j.Token == carla.Token || j.Requester != "" || j.Subject != "" || len(j.Events) == 0 {
		t.Fatalf("forgotten ticket: %+v", j)
	}
	for _, m := range j.Messages {
		if m.Text != "" || m.From != "" || m.FromName != "" || len(m.Attachments) != 0 {
			t.Fatalf("forgotten ticket keeps a message: %+v", m)
		}
	}
	for _, e := range j.Events {
		if e.Detail != "" || e.Actor != "" {
			t.Fatalf("forgotten ticket keeps an event's text: %+v", e)
		}
	}
	if out, _, _ := lcRun(t, ticketdBinary(t), "tickets", "search", "4471", "--json", "-config", cfgPath); strings.TrimSpace(out) != "[]" {
		t.Fatalf("search still finds the forgotten text: %s", out)
	}

	// Its tracking page is gone; another customer's is not.
	serve := exec.Command(ticketdBinary(t), "serve", "-config", cfgPath)
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { serve.Process.Kill(); serve.Wait() }()
	get := func(token string) int {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/t/%s", webPort, token))
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, "status page", func() bool { return get(pedro.Token) == 200 })
	if code := get(carla.Token); code != 404 {
		t.Fatalf("forgotten ticket's tracking page: %d, want 404", code)
	}
}

// grepTree returns "file: needle" for each needle (case-insensitive) found
// in any file under root.
func grepTree(t *testing.T, root string, needles []string) []string {
	t.Helper()
	var found []string
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lower := bytes.ToLower(b)
		for _, n := range needles {
			if bytes.Contains(lower, bytes.ToLower([]byte(n))) {
				found = append(found, filepath.Base(path)+": "+n)
			}
		}
		return nil
	})
	return found
}
