package threading

import (
	"bufio"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIsAutomatic(t *testing.T) {
	ours := []string{"soporte@example.com"}
	type hdr = map[string][]string
	for _, c := range []struct {
		story string
		env   string
		h     hdr
		auto  bool
	}{
		{"a customer writes", "ana@example.org", hdr{"From": {"Ana <ana@example.org>"}, "Subject": {"Printer on fire"}}, false},
		{"Outlook's X-Auto-Response-Suppress alone is normal mail", "ana@example.org",
			hdr{"From": {"ana@example.org"}, "X-Auto-Response-Suppress": {"All"}}, false},
		{"Auto-Submitted: no is a person", "ana@example.org", hdr{"Auto-Submitted": {"no"}}, false},
		{"Auto-Submitted: auto-replied", "ana@example.org", hdr{"Auto-Submitted": {"auto-replied"}}, true},
		{"Auto-Submitted with a comment", "ana@example.org", hdr{"Auto-Submitted": {"auto-generated (vacation)"}}, true},
		{"Precedence: bulk", "news@example.org", hdr{"Precedence": {"bulk"}}, true},
		{"Precedence: first-class is a person", "ana@example.org", hdr{"Precedence": {"first-class"}}, false},
		{"a mailing list", "ana@example.org", hdr{"List-Id": {"<users.lists.example.org>"}}, true},
		{"a newsletter", "ana@example.org", hdr{"List-Unsubscribe": {"<mailto:u@example.org>"}}, true},
		{"X-Autoreply", "ana@example.org", hdr{"X-Autoreply": {"yes"}}, true},
		{"X-Loop", "ana@example.org", hdr{"X-Loop": {"soporte@example.com"}}, true},
		{"X-Failed-Recipients", "ana@example.org", hdr{"X-Failed-Recipients": {"bob@example.org"}}, true},
		{"a DSN", "ana@example.org", hdr{"Content-Type": {`multipart/report; report-type=delivery-status; boundary="x"`}}, true},
		{"null envelope sender", "", hdr{}, true},
		{"null envelope sender in brackets", "<>", hdr{}, true},
		{"MAILER-DAEMON envelope", "MAILER-DAEMON@mx.example.org", hdr{}, true},
		{"From postmaster", "x@example.org", hdr{"From": {"Postmaster <postmaster@example.org>"}}, true},
		{"From our own mailbox: a loop", "x@example.org", hdr{"From": {"Soporte <SOPORTE@example.com>"}}, true},
		{"From our own token address: a loop", "x@example.org",
			hdr{"From": {"soporte+abcdefghijklmnopqrstuvwx@example.com"}}, true},
		{"English out of office", "ana@example.org", hdr{"Subject": {"Out of Office: Printer"}}, true},
		{"Outlook automatic reply", "ana@example.org", hdr{"Subject": {"Automatic reply: Printer"}}, true},
		{"Spanish auto-reply, RFC 2047", "ana@example.org",
			hdr{"Subject": {"=?UTF-8?Q?Respuesta_autom=C3=A1tica=3A_Impresora?="}}, true},
		{"Spanish out of office", "ana@example.org", hdr{"Subject": {"Fuera de la oficina"}}, true},
		{"French auto-reply", "ana@example.org", hdr{"Subject": {"Réponse automatique : Imprimante"}}, true},
		{"French absence notice", "ana@example.org", hdr{"Subject": {"Absence : Imprimante"}}, true},
		{"French customer complaining of no answer", "ana@example.org", hdr{"Subject": {"Absence de réponse"}}, false},
		{"Portuguese auto-reply", "ana@example.org", hdr{"Subject": {"Resposta automática: Impressora"}}, true},
		{"Italian auto-reply", "ana@example.org", hdr{"Subject": {"Risposta automatica: Stampante"}}, true},
		{"German out of office", "ana@example.org", hdr{"Subject": {"Abwesenheitsnotiz: Drucker"}}, true},
		{"a vacation notice without headers", "ana@example.org", hdr{"Subject": {"Away until May 5"}}, true},
		{"a Mimecast auto-response", "ana@example.org", hdr{"Subject": {"=?UTF-8?Q?AutoRespons?= :Nyaan?"}}, true},
		{"a Postfix bounce subject", "x@example.org", hdr{"Subject": {"Undelivered Mail Returned to Sender"}}, true},
		{"an Exim bounce subject", "x@example.org", hdr{"Subject": {"Mail delivery failed: returning message to sender"}}, true},
		{"a Gmail DSN subject", "x@example.org", hdr{"Subject": {"Delivery Status Notification (Failure)"}}, true},
		{"Sendmail", "x@example.org", hdr{"Subject": {"Returned mail: see transcript for details"}}, true},
		{"a customer who mentions office hours", "ana@example.org", hdr{"Subject": {"Question about out of office hours"}}, false},
		{"ezmlm's Mailing-List", "x@example.org", hdr{"Mailing-List": {"contact help@example.org; run by ezmlm"}}, true},
		{"an empty From", "x@example.org", hdr{"From": {"<>"}}, true},
		{"a no-reply sender", "x@example.org", hdr{"From": {"AWS <no-reply@sns.amazonaws.com>"}}, true},
		{"Hotmail's feedback report", "x@example.org", hdr{"Subject": {" complaint about message from 192.0.2.222"}}, true},
		{"a customer complaint", "ana@example.org", hdr{"Subject": {"Complaint about message from Juan"}}, false},
		{"a forwarded bounce is a person", "ana@example.org",
			hdr{"From": {"ana@example.org"}, "Subject": {"Fwd: Returned mail: see transcript for details"}}, false},
		{"a spam-tagged bounce", "x@example.org", hdr{"Subject": {"[SPAM] Undeliverable: hello"}}, true},
		{"a reason quoting a hostile header stays on one line", "x@example.org",
			hdr{"Auto-Submitted": {"auto-replied\r\nFAKE LOG LINE"}}, true},
		{"a non-canonical header key still counts", "ana@example.org", hdr{"auto-submitted": {"auto-generated"}}, true},
	} {
		auto, reason := IsAutomatic(c.env, c.h, ours)
		if auto != c.auto {
			t.Errorf("%s: IsAutomatic = %v (%q), want %v", c.story, auto, reason, c.auto)
		}
		if auto && reason == "" {
			t.Errorf("%s: automatic without a reason", c.story)
		}
		if strings.ContainsAny(reason, "\r\n") {
			t.Errorf("%s: reason %q spans lines", c.story, reason)
		}
	}
}

// sisimaiKnown lists corpus files whose expected class we deliberately do
// not reproduce.
var sisimaiKnown = knownDiffs{
	// Sisimai finds no bounce in it, but it has Return-Path <>,
	// Auto-Submitted and From postmaster: for loop protection it is
	// automatic, and must stay so.
	"maildir/not/rb-issue-368-bug.eml": "null sender + Auto-Submitted: we must not answer it",
	// A person forwarding a bounce with Apple Mail ("Fwd: Returned
	// mail: ..."): the outer mail is human, and a human may write to us.
	"maildir/bsd/lhost-sendmail-14.eml": "a person forwarded the bounce",
	"maildir/err/make-test-36.eml":      "a person forwarded the bounce (copy of lhost-sendmail-14)",
}

// TestSisimaiBounces: every bounce, DSN, ARF report and auto-reply of the
// sisimai corpus must be recognised from its header alone; the "not"
// samples are ordinary mail.
func TestSisimaiBounces(t *testing.T) {
	root := corpusDir(t, "sisimai-set-of-emails")
	seen := map[string]bool{}
	var total, auto, unparsed int
	err := filepath.Walk(filepath.Join(root, "maildir"), func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		name, _ := filepath.Rel(root, path)
		name = filepath.ToSlash(name)
		seen[name] = true
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		h, ok := parseHeader(string(raw))
		if !ok {
			unparsed++
			t.Logf("%s: header does not parse with net/mail", name)
			return nil
		}
		total++
		env := "x@example.org"
		if rp, ok := h["Return-Path"]; ok && len(rp) > 0 {
			env = strings.TrimSpace(rp[0])
			if a, err := mail.ParseAddress(env); err == nil {
				env = a.Address
			}
		}
		got, reason := IsAutomatic(env, h, []string{"soporte@example.com"})
		want := !strings.HasPrefix(name, "maildir/not/")
		if got {
			auto++
		}
		sisimaiKnown.check(t, name, got == want, func() string {
			return "IsAutomatic = " + boolStr(got) + " (" + reason + "), subject " + strings.Join(h["Subject"], "|")
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sisimaiKnown.assertAllSeen(t, seen)
	t.Logf("sisimai: %d files parsed, %d automatic, %d unparseable", total, auto, unparsed)
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// parseHeader reads a raw message header with net/mail after normalising
// line endings and dropping an mbox "From " separator line.
func parseHeader(raw string) (map[string][]string, bool) {
	raw = normalizeNL(raw)
	if strings.HasPrefix(raw, "From ") {
		if i := strings.IndexByte(raw, '\n'); i >= 0 {
			raw = raw[i+1:]
		}
	}
	m, err := mail.ReadMessage(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		return nil, false
	}
	_, _ = io.Copy(io.Discard, m.Body)
	return m.Header, true
}

// TestReportsInOtherCorpora: the DSNs, MDN and ARF report kept for MIME
// robustness are machine mail too; the ordinary samples beside them are
// not.
func TestReportsInOtherCorpora(t *testing.T) {
	enmime := corpusDir(t, "jhillyerd-enmime")
	mimekit := corpusDir(t, "jstedfast-MimeKit")
	dsns, _ := filepath.Glob(filepath.Join(enmime, "dsn", "testdata", "*.raw"))
	msgs := filepath.Join(mimekit, "UnitTests", "TestData", "messages")
	cases := map[string]bool{}
	for _, f := range dsns {
		cases[f] = true
	}
	for _, name := range []string{"disposition-notification.txt", "delivery-status.txt", "delivery-status2.txt",
		"delivery-status-no-blank-line.txt", "delivery-status-multiple-blank-lines.txt", "bounce.txt", "feedback-report.txt"} {
		cases[filepath.Join(msgs, name)] = true
	}
	for _, name := range []string{"simple-multipart.eml", "japanese.txt", "epilogue.txt"} {
		cases[filepath.Join(msgs, name)] = false
	}
	if len(dsns) != 5 {
		t.Errorf("found %d enmime DSNs, want 5", len(dsns))
	}
	for path, want := range cases {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		h, ok := parseHeader(string(raw))
		if !ok {
			t.Errorf("%s: header does not parse", path)
			continue
		}
		if got, reason := IsAutomatic("x@example.org", h, nil); got != want {
			t.Errorf("%s: IsAutomatic = %v (%s), want %v", filepath.Base(path), got, reason, want)
		}
	}
}
