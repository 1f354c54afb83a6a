package main

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
)

// inject without -from takes the sender from the headers, so the README's
// own example is acknowledged; -from "" (what an MTA passes for a bounce)
// stays the null sender, which is never answered.
func TestInjectSenderWithoutFrom(t *testing.T) {
	dir, cfg := writeConfig(t, "")
	cases := []struct {
		name      string
		mail      string
		args      []string
		automatic bool
		ackTo     string
	}{
		{"no -from", "From: Carla Ruiz <carla@cliente.example>\r\nTo: soporte@example.com\r\nSubject: Sin remitente\r\n\r\nHola.\r\n",
			nil, false, "carla@cliente.example"},
		{"-from empty", "From: Pedro <pedro@cliente.example>\r\nTo: soporte@example.com\r\nSubject: Rebote\r\n\r\nHola.\r\n",
			[]string{"-from", ""}, true, ""},
		{"no -from, null Return-Path", "Return-Path: <>\r\nFrom: Luisa <luisa@cliente.example>\r\nTo: soporte@example.com\r\nSubject: Rebote 2\r\n\r\nHola.\r\n",
			nil, true, ""},
	}
	for i, c := range cases {
		r := runBin(t, c.mail, nil, append([]string{"inject", "-config", cfg, "-to", "soporte@example.com"}, c.args...)...)
		if r.code != 0 {
			t.Fatalf("%s: exit %d %s", c.name, r.code, r.stderr)
		}
		number := i + 1
		r = runBin(t, "", nil, "tickets", "show", "-config", cfg, "--json", strconv.Itoa(number))
		var tk struct {
			Messages []struct {
				Automatic bool `json:"automatic"`
			} `json:"messages"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &tk); err != nil || len(tk.Messages) != 1 {
			t.Fatalf("%s: tickets show: %v %s %s", c.name, err, r.stdout, r.stderr)
		}
		if tk.Messages[0].Automatic != c.automatic {
			t.Errorf("%s: automatic = %v, want %v", c.name, tk.Messages[0].Automatic, c.automatic)
		}
		if got := acksOf(t, filepath.Join(dir, "data", "ticketd.db"), number); got != c.ackTo {
			t.Errorf("%s: acknowledgement to %q, want %q", c.name, got, c.ackTo)
		}
	}
}

// acksOf returns the recipient of the acknowledgement queued for a ticket, or "".
func acksOf(t *testing.T, dbPath string, ticket int) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rcpt string
	err = db.QueryRow(`SELECT rcpt FROM outbox WHERE ticket = ? AND kind = 'ack'`, ticket).Scan(&rcpt)
	if err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	return rcpt
}
