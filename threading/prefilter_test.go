package threading

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketd/ticketd/internal/corpus"
)

// checkPrefilters fails when a cheap test rules out a line that its
// pattern matches, or when a hand-written matcher disagrees with it.
func checkPrefilters(t *testing.T, l string) {
	t.Helper()
	f := flagsOf(l)
	for _, c := range []struct {
		name    string
		pattern bool
		may     bool
	}{
		{"reSigSep", reSigSep.MatchString(l), mayBeSigSep(l)},
		{"reRule", reRule.MatchString(l), mayBeRule(l)},
		{"reForward", reForward.MatchString(l), mayBeForward(l, f)},
		{"reOneLineHeader", reOneLineHeader.MatchString(l), mayBeOneLineHeader(l, f)},
		{"reHeader", reHeader.MatchString(l), mayBeHeader(l, f)},
		{"reMobile", reMobile.MatchString(reMDLink.ReplaceAllString(l, "$1")), mayBeMobileSig(l, f)},
	} {
		if c.pattern && !c.may {
			t.Errorf("%s matches %q but its prefilter rules it out", c.name, l)
		}
	}
	if got, want := isQuoteLine(l), reQuote.MatchString(l); got != want {
		t.Errorf("isQuoteLine(%q) = %v, reQuote says %v", l, got, want)
	}
	if got, want := isAttrOpener(l), reAttrOpener.MatchString(l); got != want {
		t.Errorf("isAttrOpener(%q) = %v, reAttrOpener says %v", l, got, want)
	}
	if got, want := trimLeftQuote(l), strings.TrimLeft(l, " \t>*-"); got != want {
		t.Errorf("trimLeftQuote(%q) = %q, want %q", l, got, want)
	}
	if got, want := trimRightBlank(l), strings.TrimRight(l, " \t"); got != want {
		t.Errorf("trimRightBlank(%q) = %q, want %q", l, got, want)
	}
	if got, want := endsWithColon(l), strings.HasSuffix(strings.TrimRight(l, " \t\u00a0"), ":"); got != want {
		t.Errorf("endsWithColon(%q) = %v, want %v", l, got, want)
	}
	// attribution trims l: the flags of l must hold for what remains.
	if g, w := flagsOf(l)&(flagDigit|flagAt|flagAmp|flagY), flagsOf(strings.TrimSpace(trimLeftQuote(l)))&(flagDigit|flagAt|flagAmp|flagY); g != w {
		t.Errorf("trimming %q changes its flags", l)
	}
	digit, at := digitAt(l, f)
	if want := strings.ContainsAny(l, "0123456789"); digit != want {
		t.Errorf("digitAt(%q): digit %v, want %v", l, digit, want)
	}
	if want := strings.Contains(l, "@") || strings.Contains(l, "&lt;"); at != want {
		t.Errorf("digitAt(%q): at %v, want %v", l, at, want)
	}
	if f&flagY == 0 && strings.ContainsAny(l, "yY") {
		t.Errorf("flagsOf(%q) misses y", l)
	}
	if got, want := containsYou(l), strings.Contains(strings.ToLower(l), "you"); got != want {
		t.Errorf("containsYou(%q) = %v, want %v", l, got, want)
	}
}

// prefilterSeeds are lines each pattern matches, in odd spellings: case
// folding to ſ (s) and K (k), Markdown links, decoration.
var prefilterSeeds = []string{
	"--", "-- ", "—  ", "–", "  -----", "\t___", "ᐧ", "—————", "*** ",
	"-----Original Message-----", " > *---- Forwarded message ----", "Begin forwarded message:",
	"début du message transféré :", "Inicio del mensaje reenviado:", "Início da mensagem encaminhada:",
	"ANFANG DER WEITERGELEITETEN NACHRICHT:", "begin doorgeſtuurd bericht:",
	"From: a Sent: b To: c", "*VAN*: x DATUM: 2 Onderwerp: z", "De: x Enviado: y Para: z",
	"From: x", " *> Subject : y", "beantwoorden - aan: x", "répondre à： y", "发件人：x", "Temat:x",
	"Kimden: x", "KIMDEN: x", "ſubject: x", "TO :x", "a: x", "Expéditeur : x",
	"Sent from my iPhone", "ſent from my iPhone", " (<Sent via Android", "[Sent from my iPhone](http://x)",
	"[](x)Sent from my iPhone", "Foo from my mobile", "foo_1 FROM mobile", "Get Outlook for iOS",
	"Envoyé de mon iPhone", "envoye depuis x", "Enviado desde mi iPhone", "Inviato dal mio iPhone",
	"Von meinem iPhone gesendet", "Gesendet von x", "Diese Nachricht wurde von x gesendet",
	"Verzonden met x", "Verstuurd vanaf x", "Sendt fra x", "SKICKAT FRÅN x", "sKickat från x", "Från min x",
	"Wysłane z x", "Отправлено с x", "從我的 iPhone 傳送", "发自我的iPhone", "来自我的x", "mobileſ from my mobile",
	"> a", "JD> b", "abc>", "abcd> no", "  \tx>", ">",
	"On Mon, Feb 1, 2016", "ON,", "Am 1.2.2013", "a las 4", "A LAS 4", "a laſ 4", "w dniu x", "dňa x", "às 4",
	"в 4", "на x", "在 x", "in message x", "in meſſage x", "il giorno x", "Den 3", "dnia 4", "op 3", "em\tx",
	"You", "yOu", "x:\u00a0 \t", "x: \xc2\xa0", "x:\xa0", " \u3000you\u00a0", "\u00a0-@", "yyou", "YYOU", "y", "yo", "you", "xYoU", "İyou",
}

func TestPrefiltersAreSound(t *testing.T) {
	lines := append([]string{}, prefilterSeeds...)
	// Every line of the public corpus, when it is there, as is and upper-cased.
	filepath.WalkDir(os.Getenv(corpus.Env), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err != nil || fi.Size() > 1<<20 {
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, l := range strings.Split(normalizeNL(string(raw)), "\n") {
			lines = append(lines, l, strings.ToUpper(l))
		}
		return nil
	})
	for _, l := range lines {
		checkPrefilters(t, l)
	}
	// Mutations of the seeds: cut, spliced, prefixed.
	rng := rand.New(rand.NewSource(1))
	pieces := []string{" ", "\t", ">", "*", "(", "<", "-", ":", "：", "ſ", "K", "Å", "]", "(", "é", "x", "\xff", "you", "Y"}
	for i := 0; i < 50000; i++ {
		s := prefilterSeeds[rng.Intn(len(prefilterSeeds))]
		switch rng.Intn(4) {
		case 0:
			s = pieces[rng.Intn(len(pieces))] + s
		case 1:
			j := rng.Intn(len(s) + 1)
			s = s[:j] + pieces[rng.Intn(len(pieces))] + s[j:]
		case 2:
			s = s[:rng.Intn(len(s)+1)]
		case 3:
			s = s + prefilterSeeds[rng.Intn(len(prefilterSeeds))]
		}
		checkPrefilters(t, s)
		if t.Failed() {
			return
		}
	}
}

func FuzzPrefilters(f *testing.F) {
	for _, s := range prefilterSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, l string) { checkPrefilters(t, l) })
}

func TestAttrVerbLastBytes(t *testing.T) {
	for _, v := range attrVerbs {
		if c := v[len(v)-1]; c < 0x80 && !strings.ContainsRune(attrVerbLastBytes, rune(c)) {
			t.Errorf("attrVerbLastBytes lacks %q, the end of %q", c, v)
		}
	}
}
