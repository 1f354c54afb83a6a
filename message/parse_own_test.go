package message_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ticketd/ticketd/message"
)

// ownAttachment is what an agent sees of an attachment: its name, its type
// and its size in bytes as the sender attached it.
type ownAttachment struct {
	name, contentType string
	size              int
}

// ownMIME describes each mail of testdata/mime: what Parse must read from
// it. text is the whole text (trimmed); where HTML is turned into text,
// contains and absent name what must and must not be in it instead.
var ownMIME = map[string]struct {
	fromName, fromAddr, subject string
	text                        string
	contains, absent            []string
	attachments                 []ownAttachment
	problem                     string // what Parse must note in Problems
}{
	"latin1-qp.eml": {
		fromName: "José María Núñez", fromAddr: "jmnunez@cliente.example", subject: "Error en la factura de otoño",
		text: "Buenos días,\n\nla factura de otoño (nº 2026-118) tiene un error: figura el año 2025.\n¿Podrían enviarme una rectificación?\n\nGracias,\nJosé María Núñez",
	},
	"windows-1252-8bit.eml": {
		fromName: "Julien Moreau", fromAddr: "julien.moreau@societe.example", subject: "Prélèvement de 49,90 € – erreur",
		text: "Bonjour,\n\nLe montant prélevé est de 49,90 € – c’est « deux fois » le prix annoncé.\nMerci de rembourser la différence, s’il vous plaît.\n\nJulien Moreau\nŒuvres & Co",
	},
	// Read as Latin-1, € would be ¤ and œ would be ½.
	"iso-8859-15-base64.eml": {
		fromName: "Anne-Sophie Lefèvre", fromAddr: "as.lefevre@societe.example", subject: "Abonnement à 120 €",
		text: "Bonjour,\n\nl'abonnement « Pro » me coûte 120 € par mois, alors que le cœur de l'offre ne marche pas.\n\nAnne-Sophie Lefèvre",
	},
	"koi8-r.eml": {
		fromName: "Иван Петров", fromAddr: "ivan.petrov@firma.example", subject: "Не работает принтер",
		text: "Здравствуйте!\n\nПринтер в офисе не печатает с понедельника.\n\nСпасибо,\nИван Петров",
	},
	// Japanese clients send ISO-2022-JP headers over a Shift_JIS body.
	"shift_jis.eml": {
		fromName: "山田 太郎", fromAddr: "yamada@kaisha.example", subject: "請求書について",
		text: "お世話になっております。\n請求書の金額が間違っているようです。\nご確認をお願いいたします。\n\n山田 太郎",
	},
	"gb2312-base64.eml": {
		fromName: "王伟", fromAddr: "wang.wei@gongsi.example", subject: "账户无法登录",
		text: "您好，\n\n我的账户从昨天开始无法登录，提示密码错误。\n\n谢谢！\n王伟",
	},
	// No MIME headers at all, UTF-8 bytes in the body and in the header.
	"utf8-no-charset.eml": {
		fromName: "João Silva", fromAddr: "joao.silva@cliente.example", subject: "Não consigo acessar a conta",
		text: "Olá, não consigo acessar a minha conta desde a atualização de ontem.\nPoderiam verificar, por favor? Obrigado.\n\nJoão",
	},
	// Apple Mail splits a long subject into encoded words on two lines.
	"base64-utf8-folded-subject.eml": {
		fromName: "Luca Bianchi", fromAddr: "luca.bianchi@icloud.example", subject: "Problema con l'aggiornamento dell'applicazione per iPad",
		text: "Buongiorno,\n\ndopo l'aggiornamento l'app si chiude subito. Perché?\n\nGrazie,\nLuca",
	},
	// The text part, not the HTML beside it.
	"outlook-alternative-1252-qp.eml": {
		fromName: "Lucía Martín", fromAddr: "lucia@cliente.example", subject: "“Modo avión” no se desactiva",
		text: "Hola:\n\nEl “modo avión” no se desactiva desde la actualización… ¿Es normal?\n\nSaludos,\nLucía",
	},
	"rfc2231-names.eml": {
		fromName: "Diego Sanz", fromAddr: "diego@cliente.example", subject: "Documentos de la reforma",
		text: "Adjunto la factura, el presupuesto y la tabla de tallas.\n\nDiego",
		attachments: []ownAttachment{
			{"Factura nº 44 — noviembre.pdf", "application/pdf", 142},
			{"Presupuesto de la reforma de la cocina de la señora Peña.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 778},
			{"Übersicht Größen.csv", "text/csv", 23}, // an RFC 2047 name, as Outlook and Gmail write it
		},
	},
	"mutt-latin1-rfc2231-name.eml": {
		fromName: "Miguel Torres", fromAddr: "mtorres@ayto.example", subject: "Presupuesto",
		text:        "Os mando el presupuesto de la señora Peña.\n\nMiguel",
		attachments: []ownAttachment{{"Presupuesto Peña.pdf", "application/pdf", 502}},
	},
	"mutt-inline-body.eml": {
		fromName: "Miguel Torres", fromAddr: "mtorres@ayto.example", subject: "Registro del servidor",
		text:        "Adjunto el registro de la sincronización de esta mañana.\n\nMiguel",
		attachments: []ownAttachment{{"sincronización.log", "application/octet-stream", 600}},
	},
	"windows-1252-text-attachment.eml": {
		fromName: "Javier Gómez", fromAddr: "jgomez@empresa.example", subject: "Listado de clientes",
		text:        "Adjunto el listado.",
		attachments: []ownAttachment{{"clientes.csv", "text/csv", 59}},
	},
	// Outlook's mixed > alternative > related: the text part is the text;
	// the PDF and the inline logo are attachments.
	"nested-mixed-alternative-related.eml": {
		fromName: "Marta Vidal", fromAddr: "marta.vidal@empresa.example", subject: "Informe trimestral",
		text: "Buenos días:\n\nOs envío el informe trimestral; el gráfico está en la página 3.\n\nUn saludo,\nMarta Vidal\nEmpresa Ejemplo",
		attachments: []ownAttachment{
			{"Informe trimestral T3.pdf", "application/pdf", 1040},
			{"logo.png", "image/png", 70},
		},
	},
	// A mail forwarded as an attachment stays one attachment, byte for
	// byte; its text is not mixed into the forwarder's.
	"message-rfc822-attached.eml": {
		fromName: "Diego Sanz", fromAddr: "diego@cliente.example", subject: "Fwd: Pedido 7781 confirmado",
		text:        "El importe de la confirmación no coincide con el de la web (119,00 €).",
		attachments: []ownAttachment{{"Pedido 7781 confirmado.eml", "message/rfc822", 333}},
	},
	// Outlook's winmail.dat: agents get the files inside, with the long
	// Unicode name, an 8-bit name in the stream's code page, and bytes
	// kept only in the MAPI properties.
	"outlook-winmail-dat.eml": {
		fromName: "Peter Hall", fromAddr: "peter.hall@northwind.example", subject: "Minutes and photos",
		text: "Please find the minutes and the photos attached.\n\nPeter",
		attachments: []ownAttachment{
			{"Acta de la reunión de noviembre.pdf", "application/pdf", 592},
			{"Plano señal.png", "image/png", 272},
			{"Foto daño caja.jpg", "image/jpeg", 313},
		},
	},
	// A container cut short stays as it came, and the problem is noted.
	"outlook-winmail-dat-broken.eml": {
		fromName: "Peter Hall", fromAddr: "peter.hall@northwind.example", subject: "Minutes (cut short)",
		text:        "Please find the minutes and the photos attached.\n\nPeter",
		attachments: []ownAttachment{{"winmail.dat", "application/ms-tnef", 200}},
		problem:     "winmail.dat: TNEF",
	},
	// Broken mail is shown, never dropped, and what went wrong is noted.
	// A gateway rewrote the boundary in the header only: the body is shown
	// as it came.
	"broken-boundary.eml": {
		fromName: "Diego Sanz", fromAddr: "diego@cliente.example", subject: "No llega el correo de confirmación",
		text:    "--=_original_boundary_7f3a\nContent-Type: text/plain; charset=utf-8\n\nMe registré ayer y no me ha llegado el correo de confirmación.\n\nDiego\n--=_original_boundary_7f3a--",
		problem: "body shown as received",
	},
	"unknown-charset.eml": {
		fromName: "Rafael Souza", fromAddr: "rafael@empresa.example", subject: "Cobrança duplicada",
		text:    "Fui cobrado duas vezes pela mesma fatura, em outubro e em novembro.\n\nRafael",
		problem: "x-user-defined-9",
	},
	// A virus scanner appended a plain line to a base64 body.
	"base64-with-garbage.eml": {
		fromName: "Lena Fischer", fromAddr: "lena@mail.example", subject: "Rechnung fehlt",
		text:    "Hallo, ich habe die Rechnung für Oktober nicht erhalten.\n\nLena",
		problem: "Malformed Base64",
	},
	// Only HTML: the words, not the markup, the style sheet or entities.
	"html-only.eml": {
		fromName: "Carla Ruiz", fromAddr: "carla@cliente.example", subject: "Error al descargar la factura",
		contains: []string{"Hola,", "No puedo descargar la factura «2026-118»", "mi cuenta", "error\u00a0500", "Carla Ruiz\nCliente S.L."},
		absent:   []string{"<p", "<br", "&laquo;", "&nbsp;", "font-family", ".firma", "DOCTYPE"},
	},
}

// ownParseKnown lists mails of testdata/mime that Parse reads wrongly today,
// with the reason. A listed mail that starts to pass fails the test, so
// the list can only shrink.
var ownParseKnown = map[string]string{
	"mutt-latin1-rfc2231-name.eml": "an RFC 2231 name in ISO-8859-1 is dropped (Go's mime.ParseMediaType decodes only UTF-8 and US-ASCII), " +
		"so the PDF is \"part-1\"; and mutt's body part (Content-Disposition: inline) is listed as attachment \"part-2\"",
	"base64-with-garbage.eml": "the scanner's line inside the base64 body decodes to control characters and U+FFFD " +
		"appended to the text",
	"windows-1252-text-attachment.eml": "a text attachment is converted to UTF-8: 66 bytes instead of the 59 the sender attached " +
		"(a download is not the file that was sent)",
}

// TestParseOwnMIME reads mails of the shapes real clients send (charsets,
// transfer encodings, RFC 2047 and RFC 2231 names, nested multiparts, an
// attached message, Outlook's winmail.dat, HTML only) and checks what an agent would see: the
// sender, the subject, the text, and each attachment's name, type and size.
func TestParseOwnMIME(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "mime", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		want, ok := ownMIME[name]
		if !ok {
			t.Errorf("%s: no expectation in ownMIME", name)
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := message.Parse(raw)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var diffs []string
		diff := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
		if p.From.Name != want.fromName || p.From.Addr != want.fromAddr {
			diff("From = %q <%s>, want %q <%s>", p.From.Name, p.From.Addr, want.fromName, want.fromAddr)
		}
		if p.Subject != want.subject {
			diff("Subject = %q, want %q", p.Subject, want.subject)
		}
		text := strings.TrimSpace(p.Text)
		if want.contains == nil && text != want.text {
			diff("Text = %q, want %q", text, want.text)
		}
		for _, s := range want.contains {
			if !strings.Contains(text, s) {
				diff("Text %q lacks %q", text, s)
			}
		}
		for _, s := range want.absent {
			if strings.Contains(text, s) {
				diff("Text %q contains %q", text, s)
			}
		}
		var got []ownAttachment
		for _, a := range p.Attachments {
			got = append(got, ownAttachment{a.Filename, a.ContentType, len(a.Content)})
		}
		if fmt.Sprint(got) != fmt.Sprint(want.attachments) {
			diff("attachments = %v, want %v", got, want.attachments)
		}
		if want.problem != "" && !strings.Contains(strings.Join(p.Problems, "\n"), want.problem) {
			diff("Problems = %q, want one with %q", p.Problems, want.problem)
		}
		why, known := ownParseKnown[name]
		switch {
		case known && len(diffs) == 0:
			t.Errorf("%s: listed as a known difference (%s) but now parses as expected: remove it from the list", name, why)
		case !known && len(diffs) > 0:
			t.Errorf("%s:\n%s", name, strings.Join(diffs, "\n"))
		}
	}
	for name := range ownMIME {
		if !seen[name] {
			t.Errorf("ownMIME names %s, which is not in testdata/mime", name)
		}
	}
	for name := range ownParseKnown {
		if !seen[name] {
			t.Errorf("ownParseKnown names %s, which is not in testdata/mime", name)
		}
	}
}

// TestOwnMailsParseWhole: every mail of testdata parses into valid UTF-8
// text with its sender, and no attachment lacks a name or a type (as
// TestCorpusParses asks of the public corpus).
func TestOwnMailsParseWhole(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.eml"))
	if len(files) < 40 {
		t.Fatalf("only %d mails in testdata", len(files))
	}
	for _, f := range files {
		p, err := message.Parse([]byte(readOwn(t, f)))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if p.From.Addr == "" || !strings.Contains(p.From.Addr, "@") {
			t.Errorf("%s: sender lost: %+v", f, p.From)
		}
		// qmail-send writes its bounces without a Message-ID.
		if p.MessageID == "" && !strings.Contains(f, "qmail") {
			t.Errorf("%s: Message-ID lost", f)
		}
		if !utf8.ValidString(p.Text) || strings.TrimSpace(p.Text) == "" {
			t.Errorf("%s: text empty or not valid UTF-8: %q", f, p.Text)
		}
		for _, a := range p.Attachments {
			if a.Filename == "" || a.ContentType == "" {
				t.Errorf("%s: attachment without name or type: %q %q", f, a.Filename, a.ContentType)
			}
		}
	}
}
