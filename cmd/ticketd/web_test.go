package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

// findChromium returns a chromium binary, or skips (fails in CI, where
// .ci/run installs one) when there is none.
func findChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found; .ci/run installs Debian's chromium for this test")
	}
	t.Skip("chromium not found (install Debian's chromium to run the real-browser test)")
	return ""
}

// chromium runs one headless chromium command against url and returns its
// standard output.
func chromium(t *testing.T, bin, url string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-proxy-server", "--hide-scrollbars", "--user-data-dir=" + t.TempDir(),
	}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), url)...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

var trackingLink = regexp.MustCompile(`https://help\.example\.com/t/([a-z2-7]{24})`)

// A customer follows the acknowledgement's link after an agent answered:
// the daemon serves the page on [http].listen and a real browser shows it.
func TestStatusPageInABrowser(t *testing.T) {
	bin := findChromium(t)
	dir := t.TempDir()
	cfgText := daemontest.BaseConfig(dir)
	cfgText = strings.Replace(cfgText, "[http]\nlisten = \"\"", "[http]\nlisten = \"127.0.0.1:0\"", 1)
	cfgText = strings.Replace(cfgText, "language = \"es\"\n", "language = \"es\"\ntime_zone = \"Europe/Madrid\"\n", 1)
	e := daemontest.Start(t, cfgText)
	srv, err := listenWeb(e.D, e.Config)
	if err != nil || srv == nil {
		t.Fatalf("listenWeb: %v", err)
	}

	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, strings.Join([]string{
		"From: Carla Ruiz <carla@cliente.example>",
		"To: soporte@example.com",
		"Subject: No puedo entrar en mi cuenta",
		"Message-ID: <first@cliente.example>",
		"Content-Type: text/plain; charset=utf-8",
		"",
		"Hola, desde ayer no puedo entrar en mi cuenta.",
		"Me dice que la contraseña no es correcta, pero no la he cambiado.",
		"",
		"Gracias,",
		"Carla",
	}, "\r\n")+"\r\n")
	sent := e.Flush()
	ack := parseMail(t, daemontest.To(sent, "carla@cliente.example"))
	m := trackingLink.FindStringSubmatch(ack.Text)
	if m == nil {
		t.Fatalf("ack has no tracking link:\n%s", ack.Text)
	}
	token := m[1]
	note := parseMail(t, daemontest.To(sent, "ana@example.com"))
	anaReply := regexp.MustCompile(`<([^>]+)>`).FindStringSubmatch(note.GetHeader("Reply-To"))
	if anaReply == nil {
		t.Fatalf("agent notification Reply-To %q", note.GetHeader("Reply-To"))
	}

	e.Clock.Advance(time.Hour)
	e.MustSend("ana@example.com", []string{anaReply[1]}, strings.Join([]string{
		"From: Ana Pérez <ana@example.com>",
		"To: " + anaReply[1],
		"Subject: Re: " + note.GetHeader("Subject"),
		"Message-ID: <ana-1@example.com>",
		"In-Reply-To: " + note.GetHeader("Message-Id"),
		"Content-Type: text/plain; charset=utf-8",
		"",
		"Hola Carla:",
		"",
		"Hemos restablecido su contraseña. Recibirá un correo con un enlace para elegir una nueva; el enlace caduca en 24 horas.",
		"",
		"Un saludo,",
		"Ana",
		"",
		"El lun, 2 nov 2026 a las 10:00, Soporte Example <" + anaReply[1] + "> escribió:",
		"> Hola, desde ayer no puedo entrar en mi cuenta.",
	}, "\r\n")+"\r\n")
	e.Flush()

	url := "http://" + srv.Addr().String() + "/t/" + token
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d\n%s", url, res.StatusCode, body)
	}

	dom := chromium(t, bin, url, "--window-size=360,800", "--dump-dom")
	for _, want := range []string{
		`<span id="status">Pendiente</span>`,
		"si no tenemos noticias suyas, esta solicitud se cerrará el 2 de diciembre de 2026.",
		"No puedo entrar en mi cuenta",
		"Hemos restablecido su contraseña.",
		"Ana Pérez",
		"2 de noviembre de 2026, 11:00", // 10:00 UTC in Madrid
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %q:\n%s", want, dom)
		}
	}
	for _, bad := range []string{"ana@example.com", "-a-", "Hola, desde ayer no puedo entrar en mi cuenta.\n> "} {
		if strings.Contains(dom, bad) {
			t.Errorf("DOM shows %q", bad)
		}
	}

	shots := t.TempDir()
	for _, size := range [][2]int{{360, 800}, {1280, 800}} {
		path := filepath.Join(shots, fmt.Sprintf("status-%dx%d.png", size[0], size[1]))
		chromium(t, bin, url, fmt.Sprintf("--window-size=%d,%d", size[0], size[1]), "--screenshot="+path)
		checkPNG(t, path, size[0], size[1])
		t.Logf("screenshot: %s", path)
		if out := os.Getenv("TICKETD_SCREENSHOT_DIR"); out != "" {
			if data, err := os.ReadFile(path); err == nil {
				os.WriteFile(filepath.Join(out, filepath.Base(path)), data, 0o644)
			}
		}
	}
}

// checkPNG fails unless path is a PNG of the window's size with more than
// a blank page in it.
func checkPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(data) < 10_000 {
		t.Errorf("%s is only %d bytes: a blank page?", path, len(data))
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s is %dx%d, want %dx%d", path, b.Dx(), b.Dy(), w, h)
	}
}

func parseMail(t *testing.T, ms []*daemontest.Mail) *enmime.Envelope {
	t.Helper()
	if len(ms) != 1 {
		t.Fatalf("got %d mails, want 1", len(ms))
	}
	env, err := enmime.ReadEnvelope(bytes.NewReader(ms[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestWebListen(t *testing.T) {
	dir := t.TempDir()
	e := daemontest.Start(t, daemontest.BaseConfig(dir))
	// listen = "" turns the page off.
	if srv, err := listenWeb(e.D, e.Config); srv != nil || err != nil {
		t.Fatalf("listen \"\": %v %v", srv, err)
	}
	// A port taken by someone else is an error naming the key.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := *e.Config
	cfg.HTTP.Listen = busy.Addr().String()
	if _, err := listenWeb(e.D, &cfg); err == nil || !strings.Contains(err.Error(), "http.listen "+busy.Addr().String()) {
		t.Fatalf("busy port: %v", err)
	}
	cfg.HTTP.Listen = "127.0.0.1:0"
	srv, err := listenWeb(e.D, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + srv.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("healthz: %d", res.StatusCode)
	}
}
