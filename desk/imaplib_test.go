package desk_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ticketd/ticketd"
)

// imaplibScript is what an agent's real client does: log in, list, read
// the INBOX, search, read one message, and take the ticket with MOVE.
const imaplibScript = `
import imaplib, json, sys, email
host, port = sys.argv[1].rsplit(":", 1)
out = {}
m = imaplib.IMAP4(host, int(port))
out["login"] = m.login("ana@example.com", "secreto-ana")[0]
typ, boxes = m.list()
out["folders"] = [b.decode().rsplit(" ", 1)[1].strip('"') for b in boxes]
typ, data = m.select("INBOX")
out["exists"] = int(data[0])
typ, data = m.uid("SEARCH", None, "BODY", "contrasena")
out["search"] = data[0].decode().split()
uid = out["search"][0]
typ, data = m.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
msg = email.message_from_bytes(data[0][1])
out["subject"] = str(email.header.make_header(email.header.decode_header(msg["Subject"])))
out["reply_to"] = msg["Reply-To"]
out["body"] = msg.get_payload(decode=True).decode("utf-8")
typ, data = m.uid("MOVE", uid, "Mios")
out["move"] = typ
typ, data = m.status("Mios", "(MESSAGES UNSEEN)")
out["mios"] = data[0].decode()
typ, data = m.uid("SEARCH", None, "ALL")
other = data[0].decode().split()[-1]
typ, data = m.uid("STORE", other, "+FLAGS", "(\\Flagged)")
out["flag"] = typ
m.logout()
print(json.dumps(out))
`

func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is needed for the imaplib test")
		}
		t.Skip("python3 not found; skipping the test with Python's imaplib")
	}
	return p
}

// Python's imaplib, a real client, reads the desk and takes a ticket.
func TestImaplibClient(t *testing.T) {
	py := python(t)
	e := startDesk(t, "")
	n := e.open(carla, "Carla Ruiz", "No puedo entrar", "La contraseña no funciona.")
	e.open(pedro, "Pedro Gil", "Factura duplicada", "Dos cobros.")
	cmd := exec.Command(py, "-c", imaplibScript, e.addr)
	outb, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("imaplib: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var out struct {
		Login, Move, Flag string
		Folders           []string
		Exists            int
		Search            []string
		Subject           string
		ReplyTo           string `json:"reply_to"`
		Body, Mios        string
	}
	if err := json.Unmarshal(outb, &out); err != nil {
		t.Fatalf("%v: %s", err, outb)
	}
	tk := e.ticket(n)
	switch {
	case out.Login != "OK" || out.Exists != 2 || len(out.Folders) != 7 || out.Folders[5] != "Mios":
		t.Fatalf("login %s, exists %d, folders %v", out.Login, out.Exists, out.Folders)
	case len(out.Search) != 1:
		t.Fatalf("search for contrasena: %v", out.Search)
	case out.Subject != "[#1] No puedo entrar" || !strings.Contains(out.ReplyTo, "soporte+"+tk.Token+"-a-") ||
		!strings.Contains(out.Body, "La contraseña no funciona."):
		t.Fatalf("message: %q %q\n%s", out.Subject, out.ReplyTo, out.Body)
	case out.Move != "OK" || !strings.Contains(out.Mios, "MESSAGES 1"):
		t.Fatalf("move %s, Mios %s", out.Move, out.Mios)
	case out.Flag != "NO":
		t.Fatalf("STORE \\Flagged answered %s, want NO", out.Flag)
	}
	if tk.Assignee != ana {
		t.Fatalf("imaplib's MOVE to Mios left the assignee %q", tk.Assignee)
	}
	if ev := eventsOf(e.events(n), ticketd.EventAssigned); len(ev) != 1 || ev[0].Actor != ana {
		t.Fatalf("history %+v", ev)
	}
}
