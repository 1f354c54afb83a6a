package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/store/sqlite"
	"github.com/ticketd/ticketd/threading"
	"github.com/ticketd/ticketd/web"
)

// testConfig has one mailbox per language and a time zone far from UTC, so
// a date written in UTC by mistake shows.
const testConfig = `
[server]
base_url = "https://help.example.com"
language = "es"
time_zone = "Europe/Madrid"

[lifecycle]
pending_close_days = 30
reminder_days_before_close = 7

[[mailboxes]]
address = "soporte@example.com"
name = "Soporte Example"
language = "es"
agents = ["ana@example.com"]

[[mailboxes]]
address = "help@example.com"
name = "Example Help"
language = "en"
agents = ["ana@example.com"]

[[mailboxes]]
address = "aide@example.com"
name = "Aide Example"
language = "fr"
agents = ["ana@example.com"]

[[mailboxes]]
address = "ajuda@example.com"
name = "Ajuda Example"
language = "pt"
agents = ["ana@example.com"]

[[mailboxes]]
address = "aiuto@example.com"
name = "Aiuto Example"
language = "it"
agents = ["ana@example.com", "nameless@example.com"]

[[agents]]
email = "ana@example.com"
name = "Ana Pérez"

[[agents]]
email = "nameless@example.com"
`

// env is a status page over a fresh store.
type env struct {
	t   *testing.T
	st  ticketd.Store
	cfg *config.Config
	srv *httptest.Server
	log *bytes.Buffer
	now time.Time
	// rawReads counts the raw mails the status page read.
	rawReads atomic.Int64
}

func newEnv(t *testing.T, cfgText string) *env {
	t.Helper()
	if cfgText == "" {
		cfgText = testConfig
	}
	cfg, err := config.Parse([]byte(cfgText), "")
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "t.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, cfg: cfg, log: &bytes.Buffer{}, now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	log := slog.New(slog.NewTextHandler(&syncWriter{b: e.log}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := web.New(rawCounting{st, &e.rawReads}, func() *config.Config { return e.cfg }, log, func() time.Time { return e.now })
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

type syncWriter struct{ b *bytes.Buffer }

func (w *syncWriter) Write(p []byte) (int, error) { return w.b.Write(p) }

// ticket is what a test puts in the store.
type ticket struct {
	Mailbox string
	Subject string
	Status  ticketd.Status
	Created time.Time
	Pending time.Time
	Remind  time.Time
	Msgs    []msg
}

type msg struct {
	Author     ticketd.Author
	FromAddr   string
	FromName   string
	Text       string // the body as mailed; NewText is cut from it by threading
	HTML       bool   // send Text as an HTML-only mail
	Internal   bool
	Unverified bool
	Automatic  bool
	Files      []file
	Inline     []file // pasted into the mail (disposition inline, a Content-ID), after Files
}

type file struct {
	Name, Type string
	Data       []byte
}

// rawMail builds a real MIME mail, so attachments are read back the way the
// daemon reads them.
func rawMail(m msg, subject string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: soporte@example.com\r\nSubject: %s\r\nMessage-ID: <%d@test>\r\nMIME-Version: 1.0\r\n",
		(&mail.Address{Name: m.FromName, Address: m.FromAddr}).String(), mime.QEncoding.Encode("utf-8", subject), time.Now().UnixNano())
	bodyType := "text/plain"
	if m.HTML {
		bodyType = "text/html"
	}
	body := base64.StdEncoding.EncodeToString([]byte(m.Text))
	if len(m.Files)+len(m.Inline) == 0 {
		fmt.Fprintf(&b, "Content-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n", bodyType, body)
		return []byte(b.String())
	}
	b.WriteString("Content-Type: multipart/mixed; boundary=BOUNDARY\r\n\r\n")
	fmt.Fprintf(&b, "--BOUNDARY\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n", bodyType, body)
	for i, f := range append(append([]file{}, m.Files...), m.Inline...) {
		disp := fmt.Sprintf("attachment; filename=%q", f.Name)
		if i >= len(m.Files) {
			disp = fmt.Sprintf("inline; filename=%q\r\nContent-ID: <img%d@test>", f.Name, i)
		}
		fmt.Fprintf(&b, "--BOUNDARY\r\nContent-Type: %s\r\nContent-Disposition: %s\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n",
			f.Type, disp, base64.StdEncoding.EncodeToString(f.Data))
	}
	b.WriteString("--BOUNDARY--\r\n")
	return []byte(b.String())
}

// add stores tk the way intake would and returns its token and the ids of
// its attachments, in order.
func (e *env) add(tk ticket) (token string, files []int64) {
	e.t.Helper()
	if tk.Mailbox == "" {
		tk.Mailbox = "soporte@example.com"
	}
	if tk.Status == "" {
		tk.Status = ticketd.StatusNuevo
	}
	if tk.Created.IsZero() {
		tk.Created = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	}
	token = threading.NewToken()
	err := e.st.Update(context.Background(), func(tx ticketd.Tx) error {
		t := &ticketd.Ticket{Token: token, Mailbox: tk.Mailbox, RequesterAddr: "carla@example.org", RequesterName: "Carla Ruiz",
			Subject: tk.Subject, Status: tk.Status, CreatedAt: tk.Created, UpdatedAt: tk.Created, PendingSince: tk.Pending, ReminderSentAt: tk.Remind}
		if err := tx.CreateTicket(t); err != nil {
			return err
		}
		for i, m := range tk.Msgs {
			raw := rawMail(m, tk.Subject)
			r := &ticketd.Raw{ReceivedAt: tk.Created, Source: "smtp", EnvelopeFrom: m.FromAddr, Data: raw}
			if err := tx.InsertRaw(r); err != nil {
				return err
			}
			p, err := message.Parse(raw)
			if err != nil {
				return err
			}
			sm := &ticketd.Message{Ticket: t.Number, RawID: r.ID, Author: m.Author, FromAddr: m.FromAddr, FromName: p.From.Name,
				Subject: p.Subject, Text: p.Text, NewText: threading.CutQuote(p.Text).New, Internal: m.Internal,
				Unverified: m.Unverified, Automatic: m.Automatic, CreatedAt: tk.Created.Add(time.Duration(i) * time.Hour), HTML: p.HTML}
			for _, a := range p.Attachments {
				sm.Attachments = append(sm.Attachments, ticketd.Attachment{PartIndex: a.Index, Filename: a.Filename, ContentType: a.ContentType, Size: int64(len(a.Content)),
					ContentID: a.ContentID, Inline: a.Inline, Content: a.Content})
			}
			if err := tx.InsertMessage(sm); err != nil {
				return err
			}
			for _, a := range sm.Attachments {
				files = append(files, a.ID)
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("seed: %v", err)
	}
	return token, files
}

type response struct {
	Code   int
	Header http.Header
	Body   string
}

func (e *env) do(method, path string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, string(body)}
}

func (e *env) get(path string) response { e.t.Helper(); return e.do("GET", path) }

func (e *env) page(token string) string {
	e.t.Helper()
	r := e.get("/t/" + token)
	if r.Code != 200 {
		e.t.Fatalf("GET /t/%s: %d\n%s", token, r.Code, r.Body)
	}
	return r.Body
}

func customer(text string, files ...file) msg {
	return msg{Author: ticketd.AuthorCustomer, FromAddr: "carla@example.org", FromName: "Carla Ruiz", Text: text, Files: files}
}

func agent(text string, files ...file) msg {
	return msg{Author: ticketd.AuthorAgent, FromAddr: "ana@example.com", FromName: "Ana P. (mobile)", Text: text, Files: files}
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func mustNotContain(t *testing.T, body string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(body, b) {
			t.Errorf("page shows %q", b)
		}
	}
}

func TestPageShowsThePublicConversationOnly(t *testing.T) {
	e := newEnv(t, "")
	tok, _ := e.add(ticket{Subject: "La impresora no imprime", Status: ticketd.StatusAbierto, Msgs: []msg{
		customer("Hola, la impresora del segundo piso no imprime."),
		agent("Buenos días Carla, ¿puede reiniciarla?"),
		{Author: ticketd.AuthorAgent, FromAddr: "ana@example.com", Text: "NOTA INTERNA: cliente VIP, cobrar extra", Internal: true},
		{Author: ticketd.AuthorAgent, FromAddr: "ana@example.com", Text: "SIN VERIFICAR: respuesta falsificada", Internal: true, Unverified: true},
		{Author: ticketd.AuthorCustomer, FromAddr: "carla@example.org", Text: "AUTOMATICO: estoy de vacaciones", Automatic: true},
		{Author: ticketd.AuthorSystem, FromAddr: "soporte@example.com", Text: "SISTEMA: acuse de recibo"},
		customer("Ya la reinicié y sigue igual."),
	}})
	body := e.page(tok)
	mustContain(t, body,
		"Solicitud #1", "La impresora no imprime", ">Abierto<",
		"Hemos recibido su respuesta y nuestro equipo le contestará lo antes posible.",
		"Hola, la impresora del segundo piso no imprime.", "Buenos días Carla, ¿puede reiniciarla?", "Ya la reinicié y sigue igual.",
		"Ana Pérez", "Equipo de soporte", "Carla Ruiz", "Soporte Example")
	mustNotContain(t, body, "NOTA INTERNA", "SIN VERIFICAR", "AUTOMATICO", "SISTEMA",
		"ana@example.com", "carla@example.org", "Ana P. (mobile)", "soporte@example.com")
	// Oldest first.
	if strings.Index(body, "Hola, la impresora") > strings.Index(body, "Buenos días") ||
		strings.Index(body, "Buenos días") > strings.Index(body, "Ya la reinicié") {
		t.Error("messages are not oldest first")
	}
}

func TestAgentWithoutConfiguredNameShowsMailboxName(t *testing.T) {
	e := newEnv(t, "")
	tok, _ := e.add(ticket{Mailbox: "aiuto@example.com", Subject: "Fattura", Msgs: []msg{
		customer("Buongiorno"),
		{Author: ticketd.AuthorAgent, FromAddr: "nameless@example.com", FromName: "Nameless Person", Text: "Risposta"},
	}})
	body := e.page(tok)
	mustContain(t, body, "Aiuto Example", "Team di assistenza", "Risposta")
	mustNotContain(t, body, "nameless@example.com", "Nameless Person")
}

func TestCustomerWithoutNameIsYou(t *testing.T) {
	e := newEnv(t, "")
	tok, _ := e.add(ticket{Mailbox: "help@example.com", Subject: "Hi", Msgs: []msg{
		{Author: ticketd.AuthorCustomer, FromAddr: "anon@example.org", Text: "No name here"},
	}})
	body := e.page(tok)
	mustContain(t, body, `<strong class="name">You</strong>`)
	mustNotContain(t, body, "anon@example.org")
}

// allowedTags are the only elements the page's own templates write.
var allowedTags = map[string]bool{
	"html": true, "head": true, "meta": true, "title": true, "link": true, "body": true, "header": true, "main": true,
	"section": true, "div": true, "span": true, "p": true, "h1": true, "h2": true, "h3": true, "dl": true, "dt": true,
	"dd": true, "time": true, "ol": true, "ul": true, "li": true, "strong": true, "details": true, "summary": true, "a": true,
}

var (
	tagRe     = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)[^>]*>`)
	handlerRe = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
)

// assertInert fails when the page holds an element or attribute that the
// templates do not write: a payload that escaped escaping.
func assertInert(t *testing.T, body string) {
	t.Helper()
	for _, m := range tagRe.FindAllStringSubmatch(body, -1) {
		if !allowedTags[strings.ToLower(m[1])] {
			t.Errorf("unexpected element %q", m[0])
		}
		if handlerRe.MatchString(m[0]) {
			t.Errorf("event handler in %q", m[0])
		}
		if strings.Contains(strings.ToLower(m[0]), "javascript:") {
			t.Errorf("javascript URL in %q", m[0])
		}
	}
}

func TestXSSPayloadsAreInert(t *testing.T) {
	e := newEnv(t, "")
	payload := `"><script>alert(1)</script><img src=x onerror=alert(2)>`
	tok, files := e.add(ticket{Subject: "Asunto " + payload, Msgs: []msg{
		{Author: ticketd.AuthorCustomer, FromAddr: "x@example.org", FromName: `<b onmouseover=alert(3)>Eve</b>`,
			Text:  "cuerpo " + payload + "\n<svg onload=alert(4)>\njavascript:alert(5)\nhttps://x.example/\"onmouseover=\"alert(9)\nhttps://ok.example/a?b=1&c=<i>",
			Files: []file{{Name: `"><svg onload=alert(6)>.png`, Type: "image/png", Data: []byte("png")}}},
		{Author: ticketd.AuthorCustomer, FromAddr: "x@example.org", HTML: true,
			Text: `<p>Hola <b>en negrita</b></p><script>alert(7)</script><a href="javascript:alert(8)">enlace</a>`},
	}})
	body := e.page(tok)
	assertInert(t, body)
	if testing.Verbose() {
		t.Log(body)
	}
	mustContain(t, body, "Asunto &#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;b onmouseover=alert(3)&gt;Eve&lt;/b&gt;",
		"&lt;svg onload=alert(4)&gt;", "&#34;&gt;&lt;svg onload=alert(6)&gt;.png", "en negrita",
		`<a href="https://x.example/" rel="nofollow noopener noreferrer">https://x.example/</a>&#34;onmouseover=&#34;alert(9)`,
		`<a href="https://ok.example/a?b=1&amp;c=" rel="nofollow noopener noreferrer">https://ok.example/a?b=1&amp;c=</a>&lt;i&gt;`)
	for _, m := range regexp.MustCompile(`<a href="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(m[1], "https://") && !strings.HasPrefix(m[1], "/t/") {
			t.Errorf("link to %q", m[1])
		}
	}
	// An HTML-only mail is shown as its text, not as markup.
	mustNotContain(t, body, "<b>en negrita", "&lt;b&gt;en negrita", "&lt;p&gt;Hola")

	r := e.get(fmt.Sprintf("/t/%s/files/%d", tok, files[0]))
	if r.Code != 200 {
		t.Fatalf("file: %d", r.Code)
	}
	cd := r.Header.Get("Content-Disposition")
	typ, params, err := mime.ParseMediaType(cd)
	if err != nil || typ != "attachment" || params["filename"] != `><svg onload=alert(6)>.png` {
		t.Errorf("Content-Disposition %q: %s %v %v", cd, typ, params, err)
	}
}

func TestQuotedPartIsFolded(t *testing.T) {
	e := newEnv(t, "")
	tok := threading.NewToken()
	tk, _ := e.add(ticket{Subject: "Pedido", Msgs: []msg{
		customer("Gracias, ya funciona.\n\nEl 3 nov 2026, a las 10:00, Soporte <soporte+" + tok + "@example.com> escribió:\n> Pruebe a reiniciar.\n> Saludos"),
		agent("Me alegro.\n\nEl 3 nov 2026, a las 11:00, Soporte <soporte+" + tok + "-a-abcdefghijklmnop@example.com> escribió:\n> NOTIFICACION PARA AGENTES\n> Nota interna: soporte+" + tok + "-n-abcdefghijklmnop@example.com"),
	}})
	body := e.page(tk)
	mustContain(t, body, "Gracias, ya funciona.", "<details><summary>Mostrar el texto citado</summary>", "&gt; Pruebe a reiniciar.", "Me alegro.")
	// What an agent quoted (the agents' notification, their own reply
	// addresses) never reaches the page.
	mustNotContain(t, body, "NOTIFICACION PARA AGENTES", "-a-abcdefghijklmnop", "-n-abcdefghijklmnop")
	if i, j := strings.Index(body, "<details>"), strings.Index(body, "Pruebe a reiniciar"); i < 0 || j < i {
		t.Error("quoted text is not inside <details>")
	}
}

func TestStatusInEachLanguage(t *testing.T) {
	cases := []struct {
		mailbox, status string
		want            []string
	}{
		{"soporte@example.com", "nuevo", []string{`lang="es"`, ">Nuevo<", "Hemos recibido su solicitud", "Solicitud #1", "Fecha de apertura"}},
		{"help@example.com", "nuevo", []string{`lang="en"`, ">New<", "We have received your request", "Request #1", "Opened"}},
		{"aide@example.com", "abierto", []string{`lang="fr"`, ">Ouvert<", "Nous avons bien reçu votre réponse", "Demande #1", "Date d&#39;ouverture"}},
		{"ajuda@example.com", "cerrado", []string{`lang="pt"`, ">Fechado<", "Esta solicitação está encerrada", "Solicitação #1"}},
		{"aiuto@example.com", "cerrado", []string{`lang="it"`, ">Chiuso<", "Questa richiesta è chiusa", "Richiesta #1"}},
		{"soporte@example.com", "pendiente", []string{">Pendiente<", "esta solicitud se cerrará el 3 de diciembre de 2026."}},
		{"help@example.com", "pendiente", []string{">Pending<", "this request will close on 3 December 2026 if we don&#39;t hear from you."}},
		{"aide@example.com", "pendiente", []string{">En attente<", "cette demande sera fermée le 3 décembre 2026."}},
		{"ajuda@example.com", "pendiente", []string{">Pendente<", "esta solicitação será encerrada em 3 de dezembro de 2026."}},
		{"aiuto@example.com", "pendiente", []string{">In attesa<", "la richiesta verrà chiusa il 3 dicembre 2026."}},
	}
	for _, c := range cases {
		t.Run(c.mailbox+"/"+c.status, func(t *testing.T) {
			e := newEnv(t, "")
			tk := ticket{Mailbox: c.mailbox, Subject: "S", Status: ticketd.Status(c.status), Msgs: []msg{customer("x")}}
			if c.status == "pendiente" {
				// 30 days after 3 Nov 2026 23:30 UTC is 3 Dec 23:30 UTC,
				// already 4 Dec in the UTC time zone but 3 Dec... no: Madrid
				// is ahead, so it is 4 Dec 00:30 there. Use an earlier hour.
				tk.Pending = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
			}
			tok, _ := e.add(tk)
			mustContain(t, e.page(tok), c.want...)
		})
	}
}

func TestDatesAreInTheServerTimeZone(t *testing.T) {
	e := newEnv(t, "")
	// 23:30 UTC on 25 November is 00:30 on the 26th in Madrid.
	at := time.Date(2026, 11, 25, 23, 30, 0, 0, time.UTC)
	es, _ := e.add(ticket{Subject: "S", Created: at, Msgs: []msg{customer("x")}})
	fr, _ := e.add(ticket{Mailbox: "aide@example.com", Subject: "S", Created: at, Msgs: []msg{customer("x")}})
	mustContain(t, e.page(es), "26 de noviembre de 2026, 00:30", `datetime="2026-11-25T23:30:00Z"`)
	mustContain(t, e.page(fr), "26 novembre 2026 à 00:30")

	// The close date of a pending ticket, too: 30 days after 3 Nov 23:30
	// UTC is 3 Dec 23:30 UTC, the 4th in Madrid.
	pend, _ := e.add(ticket{Subject: "S", Status: ticketd.StatusPendiente, Pending: time.Date(2026, 11, 3, 23, 30, 0, 0, time.UTC), Msgs: []msg{customer("x")}})
	mustContain(t, e.page(pend), "se cerrará el 4 de diciembre de 2026.")
}

func TestLateReminderMovesTheCloseDate(t *testing.T) {
	e := newEnv(t, "")
	e.now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	// Planned for 3 Dec, but the reminder only went out on 30 Nov (the
	// daemon was down): the customer still gets her 7 days.
	tok, _ := e.add(ticket{Subject: "S", Status: ticketd.StatusPendiente, Pending: time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC),
		Remind: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), Msgs: []msg{customer("x")}})
	mustContain(t, e.page(tok), "se cerrará el 7 de diciembre de 2026.")
}

func TestPendingCloseDateAlreadyPastIsNotPromised(t *testing.T) {
	e := newEnv(t, "")
	tok, _ := e.add(ticket{Subject: "S", Status: ticketd.StatusPendiente, Pending: time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC), Msgs: []msg{customer("x")}})
	body := e.page(tok)
	mustContain(t, body, "Le hemos respondido y estamos esperando su respuesta.")
	mustNotContain(t, body, "se cerrará")
}

func TestEveryMissIsTheSame404(t *testing.T) {
	e := newEnv(t, "")
	tok, files := e.add(ticket{Subject: "A", Msgs: []msg{
		customer("a", file{"a.txt", "text/plain", []byte("a")}),
		{Author: ticketd.AuthorAgent, FromAddr: "ana@example.com", Text: "nota", Internal: true, Files: []file{{"secreto.pdf", "application/pdf", []byte("%PDF")}}},
		{Author: ticketd.AuthorAgent, FromAddr: "ana@example.com", Text: "falso", Internal: true, Unverified: true, Files: []file{{"falso.pdf", "application/pdf", []byte("%PDF")}}},
	}})
	other, otherFiles := e.add(ticket{Subject: "B", Msgs: []msg{customer("b", file{"b.txt", "text/plain", []byte("b")})}})
	if e.get(fmt.Sprintf("/t/%s/files/%d", tok, files[0])).Code != 200 || e.get("/t/"+other).Code != 200 {
		t.Fatal("the ticket's own page and file must be found")
	}
	paths := []string{
		"/",
		"/t/",
		"/t",
		"/t/" + threading.NewToken(), // unknown
		"/t/" + strings.ToUpper(tok), // wrong case
		"/t/" + tok[:23],             // too short
		"/t/" + tok + "a",            // too long
		"/t/" + tok[:23] + "1",       // not base32
		"/t/" + tok + "/",            // trailing slash
		"/t/" + tok + "/files",       // no id
		"/t/" + tok + "/files/",      // empty id
		"/t/" + tok + "/files/0",     // no such id
		"/t/" + tok + "/files/999",   // no such id
		"/t/" + tok + "/files/abc",   // not a number
		"/t/" + tok + "/files/+1",    // sign
		"/t/" + tok + "/files/0" + fmt.Sprint(files[0]),   // leading zero
		fmt.Sprintf("/t/%s/files/%d", tok, otherFiles[0]), // another ticket's file
		fmt.Sprintf("/t/%s/files/%d", other, files[0]),    // and the other way round
		fmt.Sprintf("/t/%s/files/%d", tok, files[1]),      // an internal note's file
		fmt.Sprintf("/t/%s/files/%d", tok, files[2]),      // an unverified mail's file
		fmt.Sprintf("/t/%s/files/%d/x", tok, files[0]),
		"/t/" + tok + "/other",
		"/static/ticketd.css",
		"/healthz/",
		"/index.html",
		"/%2e%2e/etc/passwd",
		"/t/..%2f..%2f",
	}
	first := e.get(paths[0])
	if first.Code != 404 || !strings.Contains(first.Body, "Página no encontrada") {
		t.Fatalf("/: %d\n%s", first.Code, first.Body)
	}
	for _, p := range paths[1:] {
		r := e.get(p)
		if r.Code != 404 {
			t.Errorf("%s: %d, want 404", p, r.Code)
			continue
		}
		if r.Body != first.Body {
			t.Errorf("%s: 404 body differs from /'s", p)
		}
		for _, k := range []string{"Content-Type", "Content-Length", "Cache-Control", "Content-Security-Policy", "Content-Disposition"} {
			if r.Header.Get(k) != first.Header.Get(k) {
				t.Errorf("%s: header %s %q, / has %q", p, k, r.Header.Get(k), first.Header.Get(k))
			}
		}
	}
}

func TestMalformedTokensNeverReachTheStore(t *testing.T) {
	e := newEnv(t, "")
	notFound := e.get("/").Body
	e.st.Close()
	// With the store closed, a lookup would fail with 500; a malformed
	// token must be refused before that.
	for _, p := range []string{"/t/not-a-token", "/t/" + strings.Repeat("A", 24), "/t/" + strings.Repeat("a", 25) + "/files/1"} {
		if r := e.get(p); r.Code != 404 || r.Body != notFound {
			t.Errorf("%s: %d", p, r.Code)
		}
	}
	if r := e.get("/t/" + threading.NewToken()); r.Code != 500 {
		t.Errorf("a well-formed token with the store closed: %d, want 500 (the test relies on it)", r.Code)
	}
}

func TestOnlyGetAndHead(t *testing.T) {
	e := newEnv(t, "")
	tok, files := e.add(ticket{Subject: "S", Msgs: []msg{customer("x", file{"a.txt", "text/plain", []byte("a")})}})
	e.st.Close() // 405 comes before any lookup
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"} {
		for _, p := range []string{"/t/" + tok, fmt.Sprintf("/t/%s/files/%d", tok, files[0]), "/", "/healthz", "/nope"} {
			r := e.do(m, p)
			if r.Code != 405 || r.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d Allow=%q", m, p, r.Code, r.Header.Get("Allow"))
			}
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, "")
	tok, files := e.add(ticket{Subject: "S", Msgs: []msg{customer("x", file{"a.txt", "text/plain", []byte("a")})}})
	for _, p := range []string{"/t/" + tok, fmt.Sprintf("/t/%s/files/%d", tok, files[0]), "/nope", "/healthz"} {
		r := e.get(p)
		csp := r.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") ||
			!strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		want := map[string]string{
			"Referrer-Policy":        "no-referrer",
			"X-Frame-Options":        "DENY",
			"X-Content-Type-Options": "nosniff",
		}
		for k, v := range want {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", p, k, got, v)
			}
		}
		if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("%s: Cache-Control %q", p, cc)
		}
	}
	for _, p := range []string{"/t/" + tok, fmt.Sprintf("/t/%s/files/%d", tok, files[0])} {
		if cc := e.get(p).Header.Get("Cache-Control"); !strings.Contains(cc, "private") {
			t.Errorf("%s: Cache-Control %q lacks private", p, cc)
		}
	}
}

func TestStylesheetIsServedAndAllowed(t *testing.T) {
	e := newEnv(t, "")
	tok, _ := e.add(ticket{Subject: "S", Msgs: []msg{customer("x")}})
	m := regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)">`).FindStringSubmatch(e.page(tok))
	if m == nil {
		t.Fatal("no stylesheet link")
	}
	r := e.get(m[1])
	if r.Code != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") || !strings.Contains(r.Body, "@media") {
		t.Fatalf("%s: %d %q", m[1], r.Code, r.Header.Get("Content-Type"))
	}
	if !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("stylesheet Cache-Control %q", r.Header.Get("Cache-Control"))
	}
}

func TestDownloads(t *testing.T) {
	e := newEnv(t, "")
	cases := []struct{ stored, sent string }{
		{"image/png", "image/png"},
		{"image/jpeg", "image/jpeg"},
		{"image/gif", "image/gif"},
		{"image/webp", "image/webp"},
		{"application/pdf", "application/pdf"},
		{"TEXT/PLAIN", "text/plain"},
		{"text/html", "application/octet-stream"},
		{"text/html; charset=utf-8", "application/octet-stream"},
		{"application/xhtml+xml", "application/octet-stream"},
		{"image/svg+xml", "application/octet-stream"},
		{"application/javascript", "application/octet-stream"},
		{"text/xml", "application/octet-stream"},
		{"application/x-msdownload", "application/octet-stream"},
		{"multipart/related", "application/octet-stream"},
	}
	var fs []file
	for i, c := range cases {
		fs = append(fs, file{Name: fmt.Sprintf("f%d.bin", i), Type: c.stored, Data: []byte(fmt.Sprintf("<html><script>alert(%d)</script>", i))})
	}
	tok, ids := e.add(ticket{Subject: "S", Msgs: []msg{customer("adjuntos", fs...)}})
	body := e.page(tok)
	for i, c := range cases {
		url := fmt.Sprintf("/t/%s/files/%d", tok, ids[i])
		mustContain(t, body, fmt.Sprintf(`href="%s"`, url), fs[i].Name)
		r := e.get(url)
		if r.Code != 200 {
			t.Errorf("%s: %d", c.stored, r.Code)
			continue
		}
		if got := r.Header.Get("Content-Type"); got != c.sent {
			t.Errorf("%s sent as %q, want %q", c.stored, got, c.sent)
		}
		if got := r.Header.Get("Content-Disposition"); got != fmt.Sprintf(`attachment; filename=f%d.bin`, i) {
			t.Errorf("%s: Content-Disposition %q", c.stored, got)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("%s: headers %v", c.stored, r.Header)
		}
		if r.Body != string(fs[i].Data) {
			t.Errorf("%s: body %q", c.stored, r.Body)
		}
	}
}

func TestDownloadNameIsCleaned(t *testing.T) {
	e := newEnv(t, "")
	tok, ids := e.add(ticket{Subject: "S", Msgs: []msg{customer("x",
		file{`..\..\windows\informe.pdf`, "application/pdf", []byte("%PDF")},
		file{"factura año 2026.pdf", "application/pdf", []byte("%PDF")},
	)}})
	for i, want := range []string{"informe.pdf", "factura año 2026.pdf"} {
		cd := e.get(fmt.Sprintf("/t/%s/files/%d", tok, ids[i])).Header.Get("Content-Disposition")
		_, params, err := mime.ParseMediaType(cd)
		if err != nil || params["filename"] != want {
			t.Errorf("Content-Disposition %q: %v, want filename %q", cd, params, want)
		}
	}
}

func TestAttachmentSizesInTheMailboxLanguage(t *testing.T) {
	e := newEnv(t, "")
	big := bytes.Repeat([]byte("x"), 1536)
	es, _ := e.add(ticket{Subject: "S", Msgs: []msg{customer("x", file{"a.txt", "text/plain", big})}})
	fr, _ := e.add(ticket{Mailbox: "aide@example.com", Subject: "S", Msgs: []msg{customer("x", file{"a.txt", "text/plain", big})}})
	en, _ := e.add(ticket{Mailbox: "help@example.com", Subject: "S", Msgs: []msg{customer("x", file{"a.txt", "text/plain", []byte("hi")})}})
	mustContain(t, e.page(es), "1,5\u00a0KB")
	mustContain(t, e.page(fr), "1,5\u00a0Ko")
	mustContain(t, e.page(en), "2\u00a0B")
}

func TestHead(t *testing.T) {
	e := newEnv(t, "")
	tok, ids := e.add(ticket{Subject: "S", Msgs: []msg{customer("x", file{"a.pdf", "application/pdf", []byte("%PDF-1.4")})}})
	for _, p := range []string{"/t/" + tok, fmt.Sprintf("/t/%s/files/%d", tok, ids[0]), "/nope", "/healthz"} {
		g, h := e.get(p), e.do("HEAD", p)
		if h.Code != g.Code || h.Body != "" {
			t.Errorf("HEAD %s: %d body %q; GET gave %d", p, h.Code, h.Body, g.Code)
		}
		for _, k := range []string{"Content-Type", "Content-Disposition", "Cache-Control", "Content-Security-Policy"} {
			if h.Header.Get(k) != g.Header.Get(k) {
				t.Errorf("HEAD %s: %s %q, GET %q", p, k, h.Header.Get(k), g.Header.Get(k))
			}
		}
		if cl := h.Header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(g.Body)) {
			t.Errorf("HEAD %s: Content-Length %s, GET body %d", p, cl, len(g.Body))
		}
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, "")
	if r := e.get("/healthz"); r.Code != 200 || r.Body != "ok\n" {
		t.Fatalf("healthz: %d %q", r.Code, r.Body)
	}
	e.st.Close()
	if r := e.get("/healthz"); r.Code != 503 {
		t.Fatalf("healthz with the store closed: %d", r.Code)
	}
}

func TestAccessLogNeverHoldsAToken(t *testing.T) {
	e := newEnv(t, "")
	tok, ids := e.add(ticket{Subject: "S", Msgs: []msg{customer("x", file{"a.txt", "text/plain", []byte("a")})}})
	for _, p := range []string{
		"/t/" + tok, fmt.Sprintf("/t/%s/files/%d", tok, ids[0]), "/t/" + tok + "/files/999", "/t/" + tok + "/x/" + tok,
		"/" + tok, "/x/y/" + tok, "/t/" + tok + "?q=" + tok,
	} {
		e.get(p)
	}
	e.do("POST", "/t/"+tok)
	e.st.Close()
	e.get("/t/" + tok) // an error line, too
	log := e.log.String()
	if strings.Contains(log, tok) {
		t.Fatalf("log holds a full token:\n%s", log)
	}
	mustContain(t, log, "/t/"+tok[:6]+"…", "status=200", "status=404", "status=405", "status=500", "route=ticket", "route=file")
}

func TestBaseURLWithAPath(t *testing.T) {
	e := newEnv(t, strings.Replace(testConfig, `"https://help.example.com"`, `"https://example.com/ayuda/"`, 1))
	tok, ids := e.add(ticket{Subject: "S", Msgs: []msg{customer("x", file{"a.txt", "text/plain", []byte("a")})}})
	// Behind a proxy that keeps the prefix, and one that strips it.
	for _, prefix := range []string{"/ayuda", ""} {
		r := e.get(prefix + "/t/" + tok)
		if r.Code != 200 {
			t.Fatalf("page under %q: %d", prefix, r.Code)
		}
		body := r.Body
		mustContain(t, body, `href="/ayuda/static/ticketd-`, fmt.Sprintf(`href="/ayuda/t/%s/files/%d"`, tok, ids[0]))
		if r := e.get(fmt.Sprintf("%s/t/%s/files/%d", prefix, tok, ids[0])); r.Code != 200 {
			t.Errorf("file under %q: %d", prefix, r.Code)
		}
	}
}

func TestConfigReloadApplies(t *testing.T) {
	e := newEnv(t, "")
	tok, _ := e.add(ticket{Subject: "S", Msgs: []msg{customer("x"), agent("y")}})
	mustContain(t, e.page(tok), "Ana Pérez", `lang="es"`)
	cfg, err := config.Parse([]byte(strings.Replace(strings.Replace(testConfig, `name = "Ana Pérez"`, `name = "Ana P."`, 1),
		`language = "es"
agents`, `language = "en"
agents`, 1)), "")
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	body := e.page(tok)
	mustContain(t, body, "Ana P.", `lang="en"`, "Support team")
}
