package web_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/ticketd/ticketd"
)

// rawCounting is the real store with every read of a raw mail counted: the
// status page serves what intake decoded and never goes back to the raw
// bytes of a mail stored with its parts.
type rawCounting struct {
	ticketd.Store
	n *atomic.Int64
}

func (s rawCounting) View(ctx context.Context, fn func(ticketd.Tx) error) error {
	return s.Store.View(ctx, func(tx ticketd.Tx) error { return fn(rawCountingTx{tx, s.n}) })
}

type rawCountingTx struct {
	ticketd.Tx
	n *atomic.Int64
}

func (t rawCountingTx) Raw(id int64) (*ticketd.Raw, error) {
	t.n.Add(1)
	return t.Tx.Raw(id)
}

// The page with a customer's pasted image and an agent's HTML answer, and
// every download, read no raw mail: the bytes come as intake stored them.
func TestPageAndDownloadsReadNoRawMail(t *testing.T) {
	e := newEnv(t, "")
	png := []byte("\x89PNG\r\n\x1a\n pasted")
	pdf := []byte("%PDF-1.4\x00\xff binary")
	shot := customer("Me sale este error", file{Name: "factura.pdf", Type: "application/pdf", Data: pdf})
	shot.Inline = []file{{Name: "captura.png", Type: "image/png", Data: png}}
	answer := agent(`<div>Así debe verse:<img src="cid:img0@test"></div><blockquote type="cite">Me sale esto:<img src="cid:img1@test"></blockquote>`)
	answer.HTML = true
	answer.Inline = []file{{Name: "correcto.png", Type: "image/png", Data: png}, {Name: "error.png", Type: "image/png", Data: png}}
	token, ids := e.add(ticket{Subject: "Error al pagar", Msgs: []msg{shot, answer}})
	body := e.page(token)
	img := func(i int, alt string) string {
		return fmt.Sprintf(`<img src="/t/%s/files/%d" alt="%s"`, token, ids[i], alt)
	}
	mustContain(t, body, img(1, "captura.png"), img(2, "correcto.png"))
	mustNotContain(t, body, img(0, "factura.pdf"), img(3, "error.png"))
	for i, want := range [][]byte{pdf, png, png, png} {
		r := e.get(fmt.Sprintf("/t/%s/files/%d", token, ids[i]))
		if r.Code != 200 || r.Body != string(want) {
			t.Errorf("file %d: %d %q, want %q", i, r.Code, r.Body, want)
		}
	}
	if n := e.rawReads.Load(); n != 0 {
		t.Errorf("the page and its downloads read %d raw mails, want none", n)
	}
}

// Downloads of one ticket's files run at most eight at once: a ninth, while
// eight are still being sent to slow readers, gets 429 with Retry-After,
// and another ticket's download is not held up by them.
func TestConcurrentDownloadsPerTokenAreLimited(t *testing.T) {
	e := newEnv(t, "")
	// Larger than what the kernel buffers between server and a reader with
	// a small receive buffer, so each download stays in flight until read.
	big := bytes.Repeat([]byte("0123456789abcdef"), 6<<20/16)
	token, ids := e.add(ticket{Subject: "Grande", Msgs: []msg{customer("adjunto", file{Name: "grande.bin", Type: "application/octet-stream", Data: big})}})
	other, otherIDs := e.add(ticket{Subject: "Otro", Msgs: []msg{customer("otro", file{Name: "a.txt", Type: "text/plain", Data: []byte("hola")})}})
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	path := fmt.Sprintf("/t/%s/files/%d", token, ids[0])
	var slow []net.Conn
	for range 8 {
		c := slowReader(t, addr)
		slow = append(slow, c)
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		// The status line arrives once the handler is sending the body.
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.Contains(line, " 200 ") {
			t.Fatalf("slow download: %q %v", line, err)
		}
	}
	r := e.get(path)
	if r.Code != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("ninth download at once: %d, Retry-After %q; want 429 with Retry-After", r.Code, r.Header.Get("Retry-After"))
	}
	if r := e.get(fmt.Sprintf("/t/%s/files/%d", other, otherIDs[0])); r.Code != 200 || r.Body != "hola" {
		t.Errorf("another ticket's download: %d %q", r.Code, r.Body)
	}
	for _, c := range slow {
		c.Close()
	}
}

// slowReader connects with a tiny receive buffer, set before the
// handshake so the window stays small.
func slowReader(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
