package richtext

import (
	"strings"
	"testing"
)

// What a sanitized answer may and may not carry.
func TestPrepareSanitizes(t *testing.T) {
	b := Prepare(`<html><head><style>p{display:none}</style></head><body>`+
		`<p onclick="steal()">Hola <b>Carla</b>, <a href="https://ayuda.example.com/x">ayuda</a> `+
		`<a href="javascript:alert(1)">mal</a></p><script>alert(1)</script>`+
		`<form action="https://evil.example/"><input name="pw"></form>`+
		`<img src="https://tracker.example/p.gif"><img src="cid:shot@x" alt="captura">`+
		`<span style="display:none">oculto</span><span style="color:red;position:absolute">rojo</span>`+
		`<table><tr><td>celda</td></tr></table><iframe src="https://evil.example/"></iframe></body></html>`, Options{})
	for _, want := range []string{"<b>Carla</b>", `href="https://ayuda.example.com/x"`, `src="cid:shot@x"`, "<td>celda</td>", `style="color: red"`} {
		if !strings.Contains(b.HTML, want) {
			t.Errorf("lost %s:\n%s", want, b.HTML)
		}
	}
	for _, bad := range []string{"onclick", "javascript:", "<script", "alert", "<form", "<input", "tracker.example", "oculto", "position", "<iframe", "<style"} {
		if strings.Contains(b.HTML, bad) {
			t.Errorf("kept %s:\n%s", bad, b.HTML)
		}
	}
	if len(b.CIDs) != 1 || b.CIDs[0] != "shot@x" {
		t.Errorf("CIDs = %v", b.CIDs)
	}
	if !strings.Contains(b.Text, "Hola") || strings.Contains(b.Text, "oculto") {
		t.Errorf("text = %q", b.Text)
	}
}

// Each client's history goes; a forward and a bottom-posted answer stay.
func TestPrepareCutsEachClientsQuote(t *testing.T) {
	for _, c := range []struct{ client, html, want, gone string }{
		{"Gmail", `<div dir="ltr">Listo.</div><br><div class="gmail_quote"><div class="gmail_attr">El lun, 2 nov 2026 a las 9:00, Soporte (&lt;s@example.com&gt;) escribió:</div><blockquote class="gmail_quote">viejo</blockquote></div>`, "Listo.", "escribió"},
		{"Outlook web", `<div>Done.</div><hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg"><b>From:</b> Soporte<br><b>Sent:</b> Monday</div><div>old</div>`, "Done.", "Sent"},
		{"Outlook desktop", `<div class="WordSection1"><p>Done.</p><div><div style="border:none;border-top:solid #E1E1E1 1.0pt"><p><b>De:</b> Soporte<br><b>Enviado:</b> lunes</p></div></div><p>old</p></div>`, "Done.", "old"},
		{"Apple Mail", `<div>Merci.</div><div><br><blockquote type="cite"><div>Le 2 nov. 2026 à 09:00, Soporte a écrit :</div><div>old</div></blockquote></div>`, "Merci.", "old"},
		{"Apple Mail, attribution outside", `<div>Merci.</div><div>Le 2 nov. 2026 à 09:00, Soporte &lt;s@example.com&gt; a écrit :</div><blockquote type="cite">old</blockquote>`, "Merci.", "écrit"},
		{"Thunderbird bottom post", `<div class="moz-cite-prefix">Am 02.11.26 um 09:00 schrieb Soporte:<br></div><blockquote type="cite">alt</blockquote><p>Danke, geht.</p>`, "Danke, geht.", "schrieb"},
		{"Yahoo", `<div>Obrigada.</div><div id="yahoo_quoted_1" class="yahoo_quoted"><div>Em segunda-feira, Soporte escreveu:</div><div>antigo</div></div>`, "Obrigada.", "antigo"},
		{"Gmail forward", `<div>Mirad esto.</div><div class="gmail_quote"><div class="gmail_attr">---------- Forwarded message ---------<br>De: Banco &lt;avisos@banco.example&gt;<br>Date: dom, 1 nov 2026<br>Subject: Aviso<br>To: Carla</div><div>Cargo duplicado</div></div>`, "Cargo duplicado", ""},
		{"Proton Mail", `<div>Gracias.</div><div class="protonmail_quote">On Monday, Ana wrote:<blockquote class="protonmail_quote">viejo</blockquote></div>`, "Gracias.", "viejo"},
		{"Outlook for Mac", `<div>Thanks.</div><div id="mail-editor-reference-message-container"><div><b>From: </b>Soporte<br><b>Date: </b>Monday</div><div>old</div></div>`, "Thanks.", "old"},
		{"Outlook mobile", `<div>Ok.</div><div id="ms-outlook-mobile-signature">Get Outlook for iOS</div><hr><div id="divRplyFwdMsg"><b>From:</b> Soporte</div><div>old</div>`, "Ok.", "Outlook for iOS"},
		{"Apple Mail forward", `<div>Mirad esto.</div><div><br><div>Begin forwarded message:</div><br class="Apple-interchange-newline"><blockquote type="cite"><div><b>From: </b>Banco</div><div>Cargo duplicado</div></blockquote></div>`, "Cargo duplicado", ""},
		{"Thunderbird reply quoting a forward", `<p>Erledigt.</p><div class="moz-cite-prefix">Am 02.11.26 um 09:00 schrieb Carla:<br></div><blockquote type="cite"><div class="moz-forward-container">-------- Weitergeleitete Nachricht --------<br>Von: Bank</div><div>alte Nachricht</div></blockquote>`, "Erledigt.", "alte Nachricht"},
		{"Hotmail, plain quoting inside HTML", `<div dir="ltr">Hello<br><br><div>&gt; Subject: Test<br>&gt; From: bob@example.com<br>&gt; Hi<br></div></div>`, "Hello", "Subject"},
		{"Outlook 2003, header after an <hr>", `<p>Thanks</p><div><hr></div><p><b>From:</b>` + "\n" + `Alexander [mailto:a@example.com]<br><b>Sent:</b> Friday<br><b>To:</b> Alex<br><b>Subject:</b> Test</p><p>old</p>`, "Thanks", "old"},
		{"Yandex, attribution split by a link", `<p>Hi.<br><br>26.06.2014, 14:41, "Alexander L" &lt;<a href="mailto:a@example.com">a@example.com</a>&gt;:</p><blockquote>old</blockquote>`, "Hi.", "old"},
	} {
		b := Prepare(c.html, Options{})
		if !strings.Contains(b.Text, c.want) || c.gone != "" && strings.Contains(b.HTML, c.gone) {
			t.Errorf("%s: HTML %q text %q", c.client, b.HTML, b.Text)
		}
		if c.gone != "" && !b.Cut {
			t.Errorf("%s: no cut reported", c.client)
		}
	}
}

// Command lines at the top go from the HTML, whatever the client wraps
// them in; a "#" later in the answer stays.
func TestPrepareRemovesCommandLines(t *testing.T) {
	for _, html := range []string{
		`<div dir="ltr">#cerrar<br>#prioridad alta<br>Hola, ticket #12 resuelto.</div>`,
		`<p class="MsoNormal">#cerrar<o:p></o:p></p><p class="MsoNormal">#prioridad alta</p><p>Hola, ticket #12 resuelto.</p>`,
		`<div>#cerrar</div><div>#prioridad alta</div><div><br></div><div>Hola, ticket #12 resuelto.</div>`,
	} {
		b := Prepare(html, Options{Commands: true})
		if strings.Contains(b.HTML, "cerrar") || strings.Contains(b.HTML, "prioridad") || !strings.Contains(b.HTML, "Hola, ticket #12 resuelto.") ||
			b.Text != "Hola, ticket #12 resuelto." {
			t.Errorf("%s:\nHTML %q\ntext %q", html, b.HTML, b.Text)
		}
	}
}

// The writer's signature goes, as the text cut drops what is below "-- ".
func TestPrepareRemovesSignatures(t *testing.T) {
	for _, c := range []struct{ client, html string }{
		{"Gmail", `<div dir="ltr">Hecho.<br clear="all"><div><br></div><span class="gmail_signature_prefix">-- </span><br><div dir="ltr" class="gmail_signature"><div>Ana · +34 600 000 000</div></div></div>`},
		{"Thunderbird", `<p>Hecho.</p><div class="moz-signature">-- <br>Ana · +34 600 000 000</div>`},
		{"plain -- line", `<div>Hecho.</div><div>-- <br>Ana · +34 600 000 000</div>`},
	} {
		b := Prepare(c.html, Options{})
		if b.Text != "Hecho." || strings.Contains(b.HTML, "600") {
			t.Errorf("%s: HTML %q text %q", c.client, b.HTML, b.Text)
		}
	}
	if b := Prepare(`<p>Use -- as a separator -- in the file.</p>`, Options{}); !strings.Contains(b.Text, "separator") {
		t.Errorf("a -- inside a sentence is no signature: %q", b.Text)
	}
}

// A relative link means nothing in a mail and goes; an absolute one stays.
func TestPrepareDropsRelativeLinks(t *testing.T) {
	b := Prepare(`<p><a href="/admin">panel</a> <a href="https://example.com/a">ok</a> <a href="mailto:soporte@example.com">m</a></p>`, Options{})
	if strings.Contains(b.HTML, `href="/admin"`) || !strings.Contains(b.HTML, `href="https://example.com/a"`) || !strings.Contains(b.HTML, `href="mailto:soporte@example.com"`) {
		t.Errorf("links: %s", b.HTML)
	}
}

// A sentence that reads like an addressless attribution, followed by more
// of the answer, is not history.
func TestPrepareKeepsAttributionLikeSentences(t *testing.T) {
	b := Prepare(`<p>Hallo,</p><p>am Montag schrieb ich Ihnen 2 Mails:</p><ul><li>Rechnung</li><li>Passwort</li></ul><p>Keine Antwort.</p>`, Options{})
	if b.Cut || !strings.Contains(b.Text, "Keine Antwort.") || !strings.Contains(b.Text, "Passwort") {
		t.Errorf("cut %v: %q", b.Cut, b.Text)
	}
}
