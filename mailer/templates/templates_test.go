package templates

import (
	"flag"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd/locale"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current templates")

// goldenData is the fixed input of the golden files: a name with accents, a
// subject that tries both HTML and header injection, two attachments and a
// close date.
func goldenData(lang string) Data {
	word := SolvedWord(lang)
	return Data{
		Lang:            lang,
		MailboxName:     "Soporte Ejemplo",
		MailboxAddress:  "soporte@example.com",
		Number:          1042,
		Subject:         "Factura duplicada <script>alert(1)</script>\r\nBcc: victima@example.com",
		Status:          locale.StatusPending,
		TrackingURL:     "https://soporte.example.com/t/k3x9qm2vd7wzt4hb",
		CustomerName:    "María José Núñez",
		CustomerAddress: "maria.nunez@example.com",
		AgentName:       "François Lefèvre",
		Text:            "Buenos días:\n\nMe han cobrado dos veces la factura de octubre <b>(nº 2026-118)</b>.\nAdjunto el extracto & la captura.\n\n  Gracias.",
		Flagged:         true,
		Attachments: []Attachment{
			{Name: "extracto octubre.pdf", Size: 245_760},
			{Name: "captura.png", Size: 1_572_864},
		},
		CloseDate:    time.Date(2026, time.November, 30, 23, 30, 0, 0, time.UTC), // 1 December in Madrid
		Location:     time.FixedZone("CET", 3600),
		SolvedWord:   word,
		SolvedMailto: "mailto:soporte+k3x9qm2vd7wzt4hb@example.com?subject=%5B%231042%5D&body=" + url.QueryEscape(word),
		ReplyAddress: "soporte+k3x9qm2vd7wzt4hb@example.com",
		NoteAddress:  "soporte+k3x9qm2vd7wzt4hb-nota@example.com",
		BadLine:      "#prioridad altísima",
		Reason:       "unknown priority \"altísima\"",
		Recipient:    "maria.nunez@example.com",
		From:         "desconocido@example.net",
		Assignee:     "luis@example.com",
		AssigneeName: "Luis García",
		Priority:     "alta",
		Action:       "answered",
		Items: []DigestItem{
			{Number: 1040, Subject: "No puedo entrar", Customer: "Carla Ruiz <carla@cliente.example>", Status: locale.StatusNew, Age: 3*24*time.Hour + 5*time.Hour, ReplyAddress: "soporte+aaaa-a-bbbb@example.com"},
			{Number: 1042, Subject: "Factura duplicada <script>alert(1)</script>\r\nBcc: victima@example.com", Customer: "María José Núñez <maria.nunez@example.com>", Status: locale.StatusOpen, Age: 90 * time.Minute, ReplyAddress: "soporte+k3x9qm2vd7wzt4hb-a-cccc@example.com"},
		},
	}
}

func newSet(t *testing.T, dir string) *Set {
	t.Helper()
	s, err := New(dir)
	if err != nil {
		t.Fatalf("New(%q): %v", dir, err)
	}
	return s
}

func goldenText(m Mail) string {
	return "=== subject ===\n" + m.Subject + "\n=== text ===\n" + m.Text + "=== html ===\n" + m.HTML
}

func TestGolden(t *testing.T) {
	s := newSet(t, "")
	for _, lang := range locale.Languages {
		for _, k := range Kinds {
			d := goldenData(lang)
			if k == DeliveryFailed {
				d.Reason = "550 5.1.1 <maria.nunez@example.com>: mailbox unavailable"
			}
			m, err := s.Render(k, d)
			if err != nil {
				t.Fatalf("Render(%s, %s): %v", k, lang, err)
			}
			got := goldenText(m)
			file := filepath.Join("testdata", "golden", lang, string(k)+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the rendered mail; run go test -update and review the diff\n--- got ---\n%s", file, got)
			}
		}
	}
}

func TestEveryKindInEveryLanguage(t *testing.T) {
	s := newSet(t, "")
	for _, lang := range locale.Languages {
		for _, k := range Kinds {
			d := goldenData(lang)
			m, err := s.Render(k, d)
			if err != nil {
				t.Fatalf("Render(%s, %s): %v", k, lang, err)
			}
			if m.Subject == "" || strings.TrimSpace(m.Text) == "" || !strings.Contains(m.HTML, "</html>") {
				t.Errorf("%s/%s: empty part in %+v", lang, k, m)
			}
			// Every mail about a ticket names it first; a digest is about several.
			if k != Digest && k != AgentHelp && !strings.HasPrefix(m.Subject, "[#1042]") {
				t.Errorf("%s/%s: subject %q does not start with [#1042]", lang, k, m.Subject)
			}
			if !strings.Contains(m.HTML, `<html lang="`+lang+`">`) {
				t.Errorf("%s/%s: html is not marked as %s", lang, k, lang)
			}
		}
	}
}

func TestUnknownLanguageIsEnglish(t *testing.T) {
	s := newSet(t, "")
	d := goldenData("de")
	got, err := s.Render(Ack, d)
	if err != nil {
		t.Fatal(err)
	}
	d.Lang = "en"
	want, _ := s.Render(Ack, d)
	if got != want {
		t.Errorf("Render with lang de differs from English")
	}
	if _, err := s.Render(Kind("nope"), d); err == nil {
		t.Errorf("Render of an unknown kind: no error")
	}
}

func TestNoInjection(t *testing.T) {
	s := newSet(t, "")
	for _, lang := range locale.Languages {
		for _, k := range Kinds {
			d := goldenData(lang)
			d.CustomerName = "Eve\r\nBcc: x@example.com"
			d.BadLine = "#tag a\nb"
			d.Recipient = "x@example.com\r\nSubject: hi"
			m, err := s.Render(k, d)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(m.Subject, "\r\n") {
				t.Errorf("%s/%s: subject has a line break: %q", lang, k, m.Subject)
			}
			if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, "<b>") {
				t.Errorf("%s/%s: html contains unescaped user markup", lang, k)
			}
			if strings.Contains(m.Subject, "Bcc: victima") && !strings.Contains(m.HTML, "&lt;script&gt;") {
				t.Errorf("%s/%s: subject shown but not escaped in html", lang, k)
			}
			if strings.Contains(m.Text, "\r") {
				t.Errorf("%s/%s: text has a CR", lang, k)
			}
		}
	}
}

func TestUserTextKeptAsIs(t *testing.T) {
	s := newSet(t, "")
	d := goldenData("es")
	m, err := s.Render(Relay, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Text, d.Text+"\n") {
		t.Errorf("relay text does not start with the agent's text as is:\n%s", m.Text)
	}
	if strings.Contains(m.Text, "Hola") {
		t.Errorf("relay adds a greeting:\n%s", m.Text)
	}
}

func TestEmptySubject(t *testing.T) {
	s := newSet(t, "")
	want := map[string]string{"es": "(sin asunto)", "en": "(no subject)", "fr": "(sans objet)", "pt": "(sem assunto)", "it": "(senza oggetto)"}
	for lang, w := range want {
		d := goldenData(lang)
		d.Subject = ""
		m, err := s.Render(Ack, d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Subject, w) || !strings.Contains(m.Text, w) {
			t.Errorf("%s: empty subject not shown as %q: %q", lang, w, m.Subject)
		}
	}
}

func TestReminderOffersSolvedWord(t *testing.T) {
	s := newSet(t, "")
	for _, lang := range locale.Languages {
		d := goldenData(lang)
		m, err := s.Render(Reminder, d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Text, d.SolvedWord) || !strings.Contains(m.Text, d.ReplyAddress) {
			t.Errorf("%s: reminder text lacks the word or the address:\n%s", lang, m.Text)
		}
		if !strings.Contains(html.UnescapeString(m.HTML), `href="`+d.SolvedMailto+`"`) {
			t.Errorf("%s: reminder html lacks the mailto link:\n%s", lang, m.HTML)
		}
		day := locale.FormatDate(d.CloseDate, lang, d.Location)
		if !strings.Contains(m.Text, day) || !strings.Contains(day, "1") || strings.Contains(day, "30") {
			t.Errorf("%s: reminder does not give the close date %q in the mailbox zone:\n%s", lang, day, m.Text)
		}
	}
}

func TestCommandListComplete(t *testing.T) {
	s := newSet(t, "")
	cmds := []string{"#cerrar", "#close", "#nota", "#note", "#asignar", "#assign", "#tomar", "#take",
		"#devolver", "#release", "#prioridad", "#priority", "#etiqueta", "#tag", "#-etiqueta", "#untag",
		"baja", "media", "alta", "urgente", "low", "normal", "high", "urgent"}
	for _, lang := range locale.Languages {
		for _, k := range []Kind{AgentNew, CommandError} {
			m, err := s.Render(k, goldenData(lang))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cmds {
				if !strings.Contains(m.Text, c) || !strings.Contains(m.HTML, c) {
					t.Errorf("%s/%s: %q missing", lang, k, c)
				}
			}
		}
	}
}

func TestOverrideReplacesOneFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "fr", "ack.tmpl"),
		`{{define "subject"}}[#{{.Number}}] Bien reçu{{end}}{{define "text"}}Merci {{template "hello" .}}{{end}}{{define "html"}}<p>Merci</p>{{end}}`)
	writeFile(t, filepath.Join(dir, "README"), "not a template, ignored")
	s := newSet(t, dir)
	base := newSet(t, "")

	m, err := s.Render(Ack, goldenData("fr"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "[#1042] Bien reçu" || !strings.HasPrefix(m.Text, "Merci Bonjour") || !strings.Contains(m.HTML, "<p>Merci</p>") {
		t.Errorf("override not used: %+v", m)
	}
	// Everything else is still the embedded version.
	for _, lang := range locale.Languages {
		for _, k := range Kinds {
			if lang == "fr" && k == Ack {
				continue
			}
			got, _ := s.Render(k, goldenData(lang))
			want, _ := base.Render(k, goldenData(lang))
			if got != want {
				t.Errorf("%s/%s changed by an override of fr/ack.tmpl", lang, k)
			}
		}
	}
}

func TestOverrideErrors(t *testing.T) {
	tests := []struct {
		name, file, body, wantInErr string
	}{
		{"syntax", "es/reminder.tmpl", `{{define "subject"}}{{.Number}{{end}}`, "es/reminder.tmpl"},
		{"missing block", "it/closed.tmpl", `{{define "subject"}}x{{end}}{{define "text"}}x{{end}}`, "it/closed.tmpl"},
		{"unknown field", "pt/relay.tmpl", `{{define "subject"}}{{.Nope}}{{end}}{{define "text"}}x{{end}}{{define "html"}}x{{end}}`, "pt/relay.tmpl"},
		{"broken common", "en/common.tmpl", `{{define "hello"}}{{if}}{{end}}`, "en/common.tmpl"},
		{"unknown file", "es/akc.tmpl", `{{define "subject"}}x{{end}}`, "es/akc.tmpl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, tt.file), tt.body)
			_, err := New(dir)
			if err == nil {
				t.Fatalf("New accepted a broken %s", tt.file)
			}
			if !strings.Contains(err.Error(), filepath.ToSlash(filepath.Join(dir, tt.file))) {
				t.Errorf("error does not name the file %s: %v", tt.wantInErr, err)
			}
		})
	}
	if _, err := New(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Errorf("New with a missing override directory: no error")
	}
}

func TestSolvedWord(t *testing.T) {
	want := map[string]string{"es": "resuelto", "en": "solved", "fr": "résolu", "pt": "resolvido", "it": "risolto", "xx": "solved"}
	for lang, w := range want {
		if got := SolvedWord(lang); got != w {
			t.Errorf("SolvedWord(%q) = %q, want %q", lang, got, w)
		}
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		n    int64
		lang string
		want string
	}{
		{512, "en", "512 bytes"},
		{512, "fr", "512 octets"},
		{245_760, "es", "240 KB"},
		{1_572_864, "en", "1.5 MB"},
		{1_572_864, "es", "1,5 MB"},
		{1_572_864, "fr", "1,5 Mo"},
		{1_048_576, "it", "1 MB"},
	}
	for _, tt := range tests {
		if got := formatSize(tt.n, tt.lang); got != tt.want {
			t.Errorf("formatSize(%d, %q) = %q, want %q", tt.n, tt.lang, got, tt.want)
		}
	}
}

func writeFile(t *testing.T, name, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A ticket with almost nothing known still gives clean mails: no empty
// greeting, no zero date, no dangling "(to )".
func TestSparseData(t *testing.T) {
	s := newSet(t, "")
	for _, lang := range locale.Languages {
		for _, k := range Kinds {
			d := Data{Lang: lang, Number: 7, CustomerAddress: "a@example.com", Text: "hola"}
			// What each kind cannot do without.
			switch k {
			case CommandError:
				d.BadLine, d.Reason = "#x", "unknown command"
			case DeliveryFailed:
				d.Recipient, d.Reason = "a@example.com", "550 no such user"
			case AgentUnverified, AgentOutsider:
				d.From = "b@example.com"
			case Note:
				d.AgentName = "Ana"
			}
			m, err := s.Render(k, d)
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, k, err)
			}
			all := m.Subject + m.Text + m.HTML
			for _, bad := range []string{"<no value>", "0001", "()", "( ", ", :", " ,", "href=\"\"", "<a href=\"#ZgotmplZ\""} {
				if strings.Contains(all, bad) {
					t.Errorf("%s/%s: contains %q:\n%s\n%s", lang, k, bad, m.Subject, m.Text)
				}
			}
		}
	}
}

// A relay without a tracking link keeps the footer short and whole.
func TestRelayWithoutTracking(t *testing.T) {
	s := newSet(t, "")
	d := goldenData("en")
	d.TrackingURL = ""
	m, err := s.Render(Relay, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(m.Text, "\n-- \nRequest #1042\nTo answer, just reply to this email.\n") {
		t.Errorf("unexpected footer:\n%s", m.Text)
	}
}

// html/template refuses a javascript: link even if a caller passed one.
func TestUnsafeLinkNeutralised(t *testing.T) {
	s := newSet(t, "")
	d := goldenData("es")
	d.TrackingURL = "javascript:alert(1)"
	d.SolvedMailto = "javascript:alert(2)"
	m, err := s.Render(Reminder, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "javascript:") {
		t.Errorf("javascript: link survived:\n%s", m.HTML)
	}
}
