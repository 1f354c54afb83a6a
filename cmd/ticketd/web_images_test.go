package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

// redPNG is a solid red picture, easy to find in a screenshot.
func redPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{R: 255, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A customer pastes a screenshot into her mail as Outlook does (inside
// multipart/related, by Content-ID, no Content-Disposition). A real browser
// shows it on her status page, under the page's strict Content-Security-Policy.
func TestStatusPageShowsInlineImagesInABrowser(t *testing.T) {
	bin := findChromium(t)
	dir := t.TempDir()
	cfgText := strings.Replace(daemontest.BaseConfig(dir), "[http]\nlisten = \"\"", "[http]\nlisten = \"127.0.0.1:0\"", 1)
	e := daemontest.Start(t, cfgText)
	srv, err := listenWeb(e.D, e.Config)
	if err != nil || srv == nil {
		t.Fatalf("listenWeb: %v", err)
	}
	shot := base64.StdEncoding.EncodeToString(redPNG(t, 300, 150))
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, strings.Join([]string{
		"From: Carla Ruiz <carla@cliente.example>",
		"To: soporte@example.com",
		"Subject: Error al pagar",
		"Message-ID: <AM0PR01MB5678@outlook.example>",
		"MIME-Version: 1.0",
		`Content-Type: multipart/related; boundary="_004_"; type="multipart/alternative"`,
		"",
		"--_004_",
		`Content-Type: multipart/alternative; boundary="_000_"`,
		"",
		"--_000_",
		"Content-Type: text/plain; charset=utf-8",
		"",
		"Al pagar me sale este error:",
		"[cid:image001.png@01DB4F2A.ABCDEF00]",
		"--_000_",
		"Content-Type: text/html; charset=utf-8",
		"",
		`<html><body><p class="MsoNormal">Al pagar me sale este error:</p><p><img src="cid:image001.png@01DB4F2A.ABCDEF00"></p></body></html>`,
		"--_000_--",
		"--_004_",
		`Content-Type: image/png; name="image001.png"`,
		"Content-ID: <image001.png@01DB4F2A.ABCDEF00>",
		"Content-Transfer-Encoding: base64",
		"",
		shot,
		"--_004_--",
	}, "\r\n")+"\r\n")
	ack := parseMail(t, daemontest.To(e.Flush(), "carla@cliente.example"))
	m := trackingLink.FindStringSubmatch(ack.Text)
	if m == nil {
		t.Fatalf("ack has no tracking link:\n%s", ack.Text)
	}
	url := "http://" + srv.Addr().String() + "/t/" + m[1]

	dom := chromium(t, bin, url, "--window-size=1280,800", "--dump-dom")
	if !regexp.MustCompile(`<img src="/t/` + m[1] + `/files/\d+" alt="image001.png"`).MatchString(dom) {
		t.Errorf("DOM shows no inline image:\n%s", dom)
	}
	if !strings.Contains(dom, "Al pagar me sale este error:") || strings.Contains(dom, "[cid:") {
		t.Errorf("DOM text: Outlook's [cid:] placeholder should give way to the image:\n%s", dom)
	}
	path := filepath.Join(t.TempDir(), "inline.png")
	if out := os.Getenv("TICKETD_SCREENSHOT_DIR"); out != "" {
		defer func() {
			if data, err := os.ReadFile(path); err == nil {
				os.WriteFile(filepath.Join(out, "status-inline-image.png"), data, 0o644)
			}
		}()
	}
	chromium(t, bin, url, "--window-size=1280,800", "--screenshot="+path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	red := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 > 240 && g>>8 < 16 && bl>>8 < 16 {
				red++
			}
		}
	}
	// The picture is 300x150; borders and scaling may take a few pixels.
	if red < 300*150*8/10 {
		t.Errorf("the screenshot has %d red pixels: the inline image was not shown (%s)", red, fmt.Sprint(b))
	}
}
