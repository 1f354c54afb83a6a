package threading

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCutQuote(t *testing.T) {
	longQuote := strings.Repeat("> We have received your request and an agent will answer soon.\n", 40)
	for _, c := range []struct {
		story   string
		in      string
		want    string
		flagged bool
	}{
		{"a short answer above a long Gmail quote is the ordinary case",
			"Thanks, it works now.\n\nOn Mon, Feb 1, 2016 at 4:58 AM, Soporte <soporte@example.com> wrote:\n\n" + longQuote,
			"Thanks, it works now.", false},
		{"the same in Spanish",
			"Gracias, ya funciona.\n\nEl lun, 1 feb 2016 a las 4:58, Soporte <soporte@example.com> escribió:\n" + longQuote,
			"Gracias, ya funciona.", false},
		{"French attribution with a non-breaking space before the colon",
			"Merci !\n\nLe 1 févr. 2016 à 04:58, Soporte <soporte@example.com> a écrit\u00a0:\n" + longQuote,
			"Merci !", false},
		{"Portuguese",
			"Obrigado.\n\nEm seg., 1 de fev. de 2016 às 04:58, Soporte <soporte@example.com> escreveu:\n" + longQuote,
			"Obrigado.", false},
		{"Italian",
			"Grazie.\n\nIl giorno lun 1 feb 2016 alle ore 04:58 Soporte <soporte@example.com> ha scritto:\n" + longQuote,
			"Grazie.", false},
		{"an attribution wrapped over two lines",
			"Done.\n\nOn Mon, Feb 1, 2016 at 6:32 PM, Jeff Atwood <jeff@example.com>\nwrote:\n\n" + longQuote,
			"Done.", false},
		{"Outlook desktop's original-message block",
			"See attached.\n\n-----Original Message-----\nFrom: Soporte [mailto:soporte@example.com]\nSent: Monday, February 1, 2016 4:58 AM\nTo: Ana\nSubject: RE: [#12] Printer\n\nWe have received your request.\n",
			"See attached.", false},
		{"Outlook's underscores and header block, in Spanish",
			"Adjunto la factura.\n________________________________\nDe: Soporte <soporte@example.com>\nEnviado: lunes, 1 de febrero de 2016 4:58\nPara: Ana\nAsunto: [#12] Impresora\n\nHemos recibido su solicitud.\n",
			"Adjunto la factura.", false},
		{"iPhone signature under the answer",
			"Yes please.\n\nSent from my iPhone\n\nOn 1 Feb 2016, at 04:58, Soporte <soporte@example.com> wrote:\n\n" + longQuote,
			"Yes please.", false},
		{"Spanish mobile signature",
			"Sí, gracias.\n\nEnviado desde mi iPhone", "Sí, gracias.", false},
		{"a signature after the dash-dash separator",
			"Fixed, thanks.\n\n-- \nAna Pérez\nACME Corp\n+34 600 000 000\n",
			"Fixed, thanks.", false},
		{"CRLF line endings",
			"Thanks.\r\n\r\nOn Mon, Feb 1, 2016 at 4:58 AM, Soporte <soporte@example.com> wrote:\r\n> Hello\r\n",
			"Thanks.", false},
		{"bare CR line endings",
			"Thanks.\r\rOn Mon, Feb 1, 2016 at 4:58 AM, Soporte <soporte@example.com> wrote:\r> Hello\r",
			"Thanks.", false},
		{"interleaved answers are kept, the trailing quote is not",
			"On Mon, Feb 1, 2016 at 4:58 AM, Soporte <soporte@example.com> wrote:\n> Which model is it?\n\nAn HP 4050.\n\n> Is it plugged in?\n\nYes.\n\n> Regards,\n> Soporte\n",
			"> Which model is it?\n\nAn HP 4050.\n\n> Is it plugged in?\n\nYes.", false},
		{"a bottom post keeps only the answer",
			"On Mon, Feb 1, 2016 at 4:58 AM, Soporte <soporte@example.com> wrote:\n> Which model is it?\n\nAn HP 4050.\n",
			"An HP 4050.", false},
		{"a mail that is only a quote keeps it, flagged",
			"On Mon, Feb 1, 2016 at 4:58 AM, Soporte <soporte@example.com> wrote:\n> Hello\n", "> Hello", true},
		{"a mail of nothing but quote markers has no new text",
			"> On Mon, Feb 1, 2016 at 4:58 AM, Soporte <soporte@example.com> wrote:\n>\n>>\n", "", true},
		{"an empty mail is flagged", " \n\n", "", true},
		{"a person's sentence that starts like a signature is kept",
			"Here is another email\n\nSent from my desk, is much easier then my mobile phone.",
			"Here is another email\n\nSent from my desk, is much easier then my mobile phone.", false},
		{"Outlook Web's one-line header",
			"Ok.\n\nFrom: Soporte <soporte@example.com> Sent: Monday, February 1, 2016 4:58 AM To: Ana Subject: RE: Printer\n\nWe have received your request.\n",
			"Ok.", false},
		{"a German attribution with the verb before the sender",
			"Danke!\n\nAm 18.09.2013 um 16:24 schrieb Soporte <soporte@example.com>:\n" + longQuote,
			"Danke!", false},
		{"a forward keeps the forwarded mail, with its headers, below the comment",
			"Please look at this.\n\n" + "---------- Forwarded message ---------\nFrom: Bank <bank@example.org>\nDate: Mon, Feb 1, 2016 at 4:58 AM\nSubject: Charge\nTo: Ana\n\nYou were charged twice." + "\n",
			"Please look at this.\n\n" + "---------- Forwarded message ---------\nFrom: Bank <bank@example.org>\nDate: Mon, Feb 1, 2016 at 4:58 AM\nSubject: Charge\nTo: Ana\n\nYou were charged twice.", false},
		{"a forward without comment keeps the forwarded mail",
			"---------- Forwarded message ---------\nFrom: Bank <bank@example.org>\nDate: Mon, Feb 1, 2016 at 4:58 AM\nSubject: Charge\nTo: Ana\n\nYou were charged twice." + "\n",
			"---------- Forwarded message ---------\nFrom: Bank <bank@example.org>\nDate: Mon, Feb 1, 2016 at 4:58 AM\nSubject: Charge\nTo: Ana\n\nYou were charged twice.", false},
		{"the forwarder's signature goes, the forwarded mail stays",
			"Mira esto.\n-- \nCarla Ruiz\n\n" + "---------- Forwarded message ---------\nFrom: Bank <bank@example.org>\nDate: Mon, Feb 1, 2016 at 4:58 AM\nSubject: Charge\nTo: Ana\n\nYou were charged twice.",
			"Mira esto.\n\n" + "---------- Forwarded message ---------\nFrom: Bank <bank@example.org>\nDate: Mon, Feb 1, 2016 at 4:58 AM\nSubject: Charge\nTo: Ana\n\nYou were charged twice.", false},
		{"a forward quoted inside a reply's history is history",
			"Done.\n\nOn Mon, Feb 1, 2016 at 4:58 AM, Ana <ana@example.com> wrote:\n> ---------- Forwarded message ---------\n> From: Bank <bank@example.org>\n> You were charged twice.\n",
			"Done.", false},
		{"a German Thunderbird attribution without an address, bottom-posted",
			"Am 25.11.26 um 10:12 schrieb Ana Pérez:\n> Bitte senden Sie uns die Rechnungsnummer.\n> Danke\n\nDie Nummer ist 2026-0042.\n",
			"Die Nummer ist 2026-0042.", false},
		{"a German sentence that reads like an attribution is kept",
			"Hallo,\n\nam Montag schrieb ich Ihnen 2 Mails:\n- eine wegen der Rechnung\n- eine wegen des Passworts\n\nKeine Antwort bisher.\n",
			"Hallo,\n\nam Montag schrieb ich Ihnen 2 Mails:\n- eine wegen der Rechnung\n- eine wegen des Passworts\n\nKeine Antwort bisher.", false},
		{"an attribution whose quote was an attachment does not dangle",
			"Anbei die Rechnung.\n\nAm 25.11.26 um 10:12 schrieb Ana Pérez:\n\n",
			"Anbei die Rechnung.", false},
		{"Supercite quoting",
			"Agreed.\n\nJD> Shall we ship on Monday?\n", "Agreed.", false},
		{"a closing line that starts like a device signature is kept",
			"The printer works again.\nFrom my side it is fine now",
			"The printer works again.\nFrom my side it is fine now", false},
		{"an old Thunderbird attribution with only a name, confirmed by the quote below",
			"Works now.\n\nSoporte wrote:\n" + longQuote, "Works now.", false},
		{"the same in German",
			"Geht wieder.\n\nSoporte schrieb:\n\n" + longQuote, "Geht wieder.", false},
		{"a person who says they wrote something is not an attribution",
			"I wrote to you last week:\nthe printer still does not work.",
			"I wrote to you last week:\nthe printer still does not work.", false},
	} {
		got := CutQuote(c.in)
		if got.New != c.want || got.Flagged != c.flagged {
			t.Errorf("%s:\nNew = %q (flagged %v)\nwant %q (flagged %v)", c.story, got.New, got.Flagged, c.want, c.flagged)
		}
	}
}

// TestCutQuoteFlagsARefundHiddenBelowDashes is the case that motivated
// Flagged: a customer typed their request below a "-- " line (or pasted
// it below their signature), so the cut hides the actual request.
func TestCutQuoteFlagsARefundHiddenBelowDashes(t *testing.T) {
	for _, c := range []struct {
		story string
		in    string
	}{
		{"request below the separator",
			"Hola,\n\n-- \nI want a refund of invoice 44, it was charged twice on my card last month.\n"},
		{"request below the separator, CRLF",
			"Hola,\r\n\r\n-- \r\nI want a refund of invoice 44, it was charged twice on my card last month.\r\n"},
		{"a long request below the separator",
			"Hi,\n\n--\nI want a refund of invoice 44.\nIt was charged twice, once on the 3rd and once on the 5th.\nPlease send the money back to the same card.\nThank you.\n"},
		{"a misread attribution followed by the real request, unquoted",
			"Hello,\nOn 3 March 2024 at 10:00 your colleague Juan <juan@example.com> wrote:\nthat my refund would arrive in five days, but it has been three weeks and\nI still have not received anything on my card, please check invoice 44\nbecause I was charged twice and I need the money back this month.\n"},
	} {
		got := CutQuote(c.in)
		if !got.Flagged {
			t.Errorf("%s: not flagged; New = %q, Removed = %q", c.story, got.New, got.Removed)
		}
		if !strings.Contains(got.New+"\n"+got.Removed, "refund") {
			t.Errorf("%s: the request was lost: %+v", c.story, got)
		}
	}
}

// TestCutQuoteKeepsEveryLine: New and Removed together hold all the text.
func TestCutQuoteKeepsEveryLine(t *testing.T) {
	in := "Answer.\n\nSent from my iPhone\n\nOn Mon, Feb 1, 2016 at 4:58 AM, X <x@example.com> wrote:\n> a\n> b\n-- \nsig\n"
	got := CutQuote(in)
	for _, l := range strings.Split(in, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.Contains(got.New, l) && !strings.Contains(got.Removed, l) {
			t.Errorf("line %q is neither in New nor in Removed", l)
		}
	}
}

// The reply parser corpus carries a 750 KB single-line quote
// (email_long_quote.txt) and a regexp-hostile attribution
// (pathological.txt); both must stay linear.
func BenchmarkCutQuoteLongQuote(b *testing.B) { benchCorpusFile(b, "email_long_quote.txt") }

func BenchmarkCutQuotePathological(b *testing.B) { benchCorpusFile(b, "pathological.txt") }

func benchCorpusFile(b *testing.B, name string) {
	path := filepath.Join(corpusDir(b, "github-email_reply_parser"), "test", "emails", name)
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	text := string(raw)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		CutQuote(text)
	}
}
