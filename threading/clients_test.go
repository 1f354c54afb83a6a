package threading

import (
	"strings"
	"testing"
)

// Attribution lines as each client writes them in each language ticketd
// serves (es, en, fr, pt, it) and German.
var clientAttributions = []struct{ client, lang, line string }{
	{"Gmail", "es", "El lun, 2 nov 2026 a las 9:00, Ana Pérez (<ana@example.com>) escribió:"},
	{"Gmail", "en", "On Mon, Nov 2, 2026 at 9:00 AM Ana Pérez <ana@example.com> wrote:"},
	{"Gmail", "fr", "Le lun. 2 nov. 2026 à 09:00, Ana Pérez <ana@example.com> a écrit :"},
	{"Gmail", "pt", "Em seg., 2 de nov. de 2026 às 09:00, Ana Pérez <ana@example.com> escreveu:"},
	{"Gmail", "it", "Il giorno lun 2 nov 2026 alle ore 09:00 Ana Pérez <ana@example.com> ha scritto:"},
	{"Gmail", "de", "Am Mo., 2. Nov. 2026 um 09:00 Uhr schrieb Ana Pérez <ana@example.com>:"},
	{"Thunderbird", "es", "El 2/11/26 a las 9:00, Ana Pérez escribió:"},
	{"Thunderbird", "en", "On 11/2/26 9:00 AM, Ana Pérez wrote:"},
	{"Thunderbird", "fr", "Le 02/11/2026 à 09:00, Ana Pérez a écrit :"},
	{"Thunderbird", "pt", "Em 02/11/2026 09:00, Ana Pérez escreveu:"},
	{"Thunderbird", "it", "Il 02/11/26 09:00, Ana Pérez ha scritto:"},
	{"Thunderbird", "de", "Am 02.11.26 um 09:00 schrieb Ana Pérez:"},
	{"Apple Mail", "es", "El 2 nov 2026, a las 9:00, Ana Pérez <ana@example.com> escribió:"},
	{"Apple Mail", "en", "On 2 Nov 2026, at 09:00, Ana Pérez <ana@example.com> wrote:"},
	{"Apple Mail", "fr", "Le 2 nov. 2026 à 09:00, Ana Pérez <ana@example.com> a écrit :"},
	{"Apple Mail", "pt", "Em 2 de nov. de 2026, à(s) 09:00, Ana Pérez <ana@example.com> escreveu:"},
	{"Apple Mail", "it", "Il giorno 2 nov 2026, alle ore 09:00, Ana Pérez <ana@example.com> ha scritto:"},
	{"Apple Mail", "de", "Am 02.11.2026 um 09:00 schrieb Ana Pérez <ana@example.com>:"},
	{"Yahoo", "es", "El lunes, 2 de noviembre de 2026, 09:00:00 CET, Ana Pérez <ana@example.com> escribió:"},
	{"Yahoo", "en", "On Monday, November 2, 2026, 09:00:00 AM GMT+1, Ana Pérez <ana@example.com> wrote:"},
	{"Yahoo", "fr", "Le lundi 2 novembre 2026, 09:00:00 UTC+1, Ana Pérez <ana@example.com> a écrit :"},
	{"Yahoo", "pt", "Em segunda-feira, 2 de novembro de 2026 09:00:00 BRT, Ana Pérez <ana@example.com> escreveu:"},
	{"Yahoo", "it", "Il lunedì 2 novembre 2026, 09:00:00 CET, Ana Pérez <ana@example.com> ha scritto:"},
	{"Yahoo", "de", "Am Montag, 2. November 2026, 09:00:00 MEZ hat Ana Pérez <ana@example.com> Folgendes geschrieben:"},
}

// Outlook's header block above the quoted mail, per language.
var outlookHeaders = []struct{ lang, block string }{
	{"es", "De: Ana Pérez <ana@example.com>\nEnviado: lunes, 2 de noviembre de 2026 9:00\nPara: Carla Ruiz <carla@cliente.example>\nAsunto: RE: Factura"},
	{"en", "From: Ana Pérez <ana@example.com>\nSent: Monday, November 2, 2026 9:00 AM\nTo: Carla Ruiz <carla@cliente.example>\nSubject: RE: Invoice"},
	{"fr", "De : Ana Pérez <ana@example.com>\nEnvoyé : lundi 2 novembre 2026 09:00\nÀ : Carla Ruiz <carla@cliente.example>\nObjet : RE: Facture"},
	{"pt", "De: Ana Pérez <ana@example.com>\nEnviado: segunda-feira, 2 de novembro de 2026 09:00\nPara: Carla Ruiz <carla@cliente.example>\nAssunto: RE: Fatura"},
	{"it", "Da: Ana Pérez <ana@example.com>\nInviato: lunedì 2 novembre 2026 09:00\nA: Carla Ruiz <carla@cliente.example>\nOggetto: R: Fattura"},
	{"de", "Von: Ana Pérez <ana@example.com>\nGesendet: Montag, 2. November 2026 09:00\nAn: Carla Ruiz <carla@cliente.example>\nBetreff: AW: Rechnung"},
}

// Forward markers as each client writes them.
var forwardMarkers = []struct{ client, lang, line string }{
	{"Gmail", "any", "---------- Forwarded message ---------"},
	{"Gmail (older)", "es", "---------- Mensaje reenviado ----------"},
	{"Thunderbird", "en", "-------- Forwarded Message --------"},
	{"Thunderbird", "es", "-------- Mensaje reenviado --------"},
	{"Thunderbird", "fr", "-------- Message transféré --------"},
	{"Thunderbird", "pt", "-------- Mensagem encaminhada --------"},
	{"Thunderbird", "it", "-------- Messaggio Inoltrato --------"},
	{"Thunderbird", "de", "-------- Weitergeleitete Nachricht --------"},
	{"Apple Mail", "en", "Begin forwarded message:"},
	{"Apple Mail", "es", "Inicio del mensaje reenviado:"},
	{"Apple Mail", "fr", "Début du message réexpédié :"},
	{"Apple Mail", "pt", "Início da mensagem reencaminhada:"},
	{"Apple Mail", "it", "Inizio messaggio inoltrato:"},
	{"Apple Mail", "de", "Anfang der weitergeleiteten Nachricht:"},
}

const (
	answer = "Ya está pagada, gracias."
	quoted = "> ¿Puede enviarnos el justificante de pago?\n> Un saludo,\n> Ana"
)

// A reply keeps only the answer whether it is above the quote (top
// posting) or below it (bottom posting), and an attribution whose quote
// went elsewhere (an attachment in between) does not dangle.
func TestEveryClientsAttributionInEveryLanguage(t *testing.T) {
	for _, c := range clientAttributions {
		for _, s := range []struct{ shape, text string }{
			{"top-posted", answer + "\n\n" + c.line + "\n" + quoted + "\n"},
			{"bottom-posted", c.line + "\n" + quoted + "\n\n" + answer + "\n"},
			{"attribution without its quote", answer + "\n\n" + c.line + "\n\n"},
		} {
			if got := CutQuote(s.text); got.New != answer || got.Flagged {
				t.Errorf("%s %s, %s: New = %q (flagged %v)", c.client, c.lang, s.shape, got.New, got.Flagged)
			}
		}
	}
	for _, h := range outlookHeaders {
		for _, s := range []struct{ shape, text string }{
			{"top-posted", answer + "\n\n" + h.block + "\n\n¿Puede enviarnos el justificante de pago?\nUn saludo,\nAna\n"},
			{"after Outlook's rule", answer + "\n\n________________________________\n" + h.block + "\n\n¿Puede enviarnos el justificante?\n"},
			{"header block without its mail", answer + "\n\n" + h.block + "\n"},
		} {
			if got := CutQuote(s.text); got.New != answer {
				t.Errorf("Outlook %s, %s: New = %q", h.lang, s.shape, got.New)
			}
		}
	}
}

// A forward keeps the forwarded mail, with its header lines, below the
// comment; without a comment, the forwarded mail is the whole new text.
func TestEveryClientsForwardKeepsTheForwardedMail(t *testing.T) {
	const notice = "De: Banco Ejemplo <avisos@banco.example>\nDate: dom, 1 nov 2026 a las 22:14\nSubject: Aviso de cargo duplicado\nTo: <carla@cliente.example>\n\nLe informamos de dos cargos de 49,90 EUR, referencia 7788-1122."
	for _, m := range forwardMarkers {
		for _, comment := range []string{"Os reenvío el aviso del banco: me han cobrado dos veces.", ""} {
			text := m.line + "\n" + notice + "\n"
			if comment != "" {
				text = comment + "\n\n" + text
			}
			got := CutQuote(text)
			want := strings.TrimSpace(text)
			if got.New != want || got.Flagged {
				t.Errorf("%s %s (comment %v): New = %q (flagged %v)", m.client, m.lang, comment != "", got.New, got.Flagged)
			}
		}
	}
}

// Outlook forwards with a header block and no marker; the subject says
// it is a forward ("RV:", "TR:", "WG:" ...), and the forwarded mail stays.
func TestOutlookForwardIsKeptByItsSubject(t *testing.T) {
	for _, c := range []struct{ lang, subject string }{
		{"en", "FW: Invoice"}, {"es", "RV: Factura"}, {"fr", "TR: Facture"}, {"pt", "ENC: Fatura"}, {"it", "I: Fattura"}, {"de", "WG: Rechnung"},
	} {
		var block string
		for _, h := range outlookHeaders {
			if h.lang == c.lang {
				block = h.block
			}
		}
		text := "Mirad esto.\n\n________________________________\n" + block + "\n\nLe informamos de dos cargos, referencia 7788-1122.\n"
		if got := CutQuoteSubject(text, c.subject); got.New != strings.TrimSpace(text) {
			t.Errorf("%s %q: New = %q", c.lang, c.subject, got.New)
		}
		alone := block + "\n\nLe informamos de dos cargos, referencia 7788-1122."
		if got := CutQuoteSubject(alone+"\n", c.subject); got.New != alone {
			t.Errorf("%s %q without comment: New = %q", c.lang, c.subject, got.New)
		}
		// The same mail as a reply loses the history, as every reply does.
		if got := CutQuoteSubject(text, "RE: "+c.subject); got.New != "Mirad esto." {
			t.Errorf("%s reply to %q: New = %q", c.lang, c.subject, got.New)
		}
	}
}

func TestIsForwardSubject(t *testing.T) {
	for subject, want := range map[string]bool{
		"Fwd: Aviso": true, "FW: Invoice": true, "RV: Factura": true, "TR: Facture": true, "ENC: Fatura": true,
		"I: Fattura": true, "WG: Rechnung": true, "[Fwd: old style]": true,
		"Re: Fwd: Aviso": false, "RE: FW: Invoice": false, "Factura de octubre": false, "Tratamiento: dudas": false, "": false,
	} {
		if got := IsForwardSubject(subject); got != want {
			t.Errorf("IsForwardSubject(%q) = %v, want %v", subject, got, want)
		}
	}
}
