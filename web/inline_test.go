package web_test

import (
	"fmt"
	"strings"
	"testing"
)

// A customer's pasted screenshot and an agent's are shown on the page as
// images, served with their own type; an attached file stays a download,
// an inline SVG (which can carry script) is never an image, and a note's
// image is never shown at all.
func TestInlineImagesOfPublicMessagesAreShown(t *testing.T) {
	e := newEnv(t, "")
	png := []byte("\x89PNG\r\n\x1a\n fake screenshot")
	note := agent("Nota interna")
	note.Inline, note.Internal = []file{{Name: "interna.png", Type: "image/png", Data: png}}, true
	shot := customer("Me sale este error", file{Name: "factura.png", Type: "image/png", Data: png})
	shot.Inline = []file{{Name: "captura.png", Type: "image/png", Data: png},
		{Name: "dibujo.svg", Type: "image/svg+xml", Data: []byte("<svg onload=alert(1)></svg>")}}
	answer := agent("Así debe verse")
	answer.Inline = []file{{Name: "correcto.jpg", Type: "image/jpeg", Data: png}}
	// Files in order: factura.png (attached), captura.png, dibujo.svg,
	// correcto.jpg, interna.png.
	token, ids := e.add(ticket{Subject: "Error al pagar", Msgs: []msg{shot, answer, note}})
	if len(ids) != 5 {
		t.Fatalf("seeded %d files", len(ids))
	}
	body := e.page(token)
	url := func(i int) string { return fmt.Sprintf("/t/%s/files/%d", token, ids[i]) }
	img := func(i int, alt string) string { return fmt.Sprintf(`<img src="%s" alt="%s"`, url(i), alt) }
	mustContain(t, body, img(1, "captura.png"), img(3, "correcto.jpg"))
	mustNotContain(t, body, img(0, "factura.png"), img(2, "dibujo.svg"), "interna.png", url(4))
	mustContain(t, body, `href="`+url(0)+`"`, `href="`+url(2)+`"`) // still downloads
	if n := strings.Count(body, "<img "); n != 2 {
		t.Errorf("%d images on the page, want 2", n)
	}
	r := e.get(url(1))
	if r.Code != 200 || r.Header.Get("Content-Type") != "image/png" || r.Body != string(png) {
		t.Errorf("image: %d %q %q", r.Code, r.Header.Get("Content-Type"), r.Body)
	}
	if r := e.get(url(4)); r.Code != 404 {
		t.Errorf("a note's image is served: %d", r.Code)
	}
}

// In an HTML mail only the images of the new text are shown: the
// customer's screenshot that an agent's client quoted back stays a
// download of that message, not an image of the agent's answer.
func TestQuotedImagesAreNotShownAsTheAnswer(t *testing.T) {
	e := newEnv(t, "")
	png := []byte("\x89PNG\r\n\x1a\n fake")
	answer := agent(`<div>Así debe verse:<img src="cid:img0@test"></div>` +
		`<blockquote type="cite"><div>Me sale esto:<img src="cid:img1@test"></div></blockquote>`)
	answer.HTML = true
	answer.Inline = []file{{Name: "correcto.png", Type: "image/png", Data: png}, {Name: "error.png", Type: "image/png", Data: png}}
	token, ids := e.add(ticket{Subject: "Error", Msgs: []msg{answer}})
	body := e.page(token)
	mustContain(t, body, fmt.Sprintf(`<img src="/t/%s/files/%d" alt="correcto.png"`, token, ids[0]),
		fmt.Sprintf(`href="/t/%s/files/%d"`, token, ids[1]))
	if n := strings.Count(body, "<img "); n != 1 {
		t.Errorf("%d images on the page, want 1", n)
	}
}
