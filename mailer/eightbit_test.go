package mailer

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

func TestTransferEncoding(t *testing.T) {
	long := strings.Repeat("x", maxLine)
	for _, c := range []struct {
		name, s  string
		eightBit bool
		want     string
	}{
		{"ASCII", "Hello\nWorld\n", false, "7bit"},
		{"ASCII with CRLF", "Hello\r\nWorld\r\n", false, "7bit"},
		{"ASCII, longest line", long + "\n", false, "7bit"},
		{"ASCII, a line too long", long + "x\n", false, "quoted-printable"},
		{"UTF-8, the transport takes 8bit", "¿Qué tal?\n", true, "8bit"},
		{"UTF-8, it does not", "¿Qué tal?\n", false, "quoted-printable"},
		{"UTF-8, a line too long", strings.Repeat("é", 500) + "\n", true, "quoted-printable"},
		{"not UTF-8", "caf\xe9\n", true, "quoted-printable"},
		{"a lone CR", "a\rb\n", true, "quoted-printable"},
		{"a NUL", "a\x00b\n", true, "quoted-printable"},
	} {
		if got := transferEncoding(c.s, c.eightBit); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// hideCapability listens on a new port and passes every connection on to
// addr, leaving the lines of the server's answers that name capability out.
func hideCapability(t *testing.T, addr, capability string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(s, c); s.Close() }()
			go func() {
				defer c.Close()
				r := bufio.NewReader(s)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.Contains(line, capability) {
						continue
					}
					if _, err := io.WriteString(c, line); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

func (h *smarthost) mails() []*Composed {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*Composed(nil), h.got...)
}

// A mail composed 8bit goes, with BODY=8BITMIME, only to a smarthost that
// offers 8BITMIME; one that does not gets nothing, the attempt fails to be
// tried again, and the pool says the smarthost takes no 8bit, so the mail
// is composed quoted-printable for the next attempt.
func TestPoolSendsEightBitOnlyWhereOffered(t *testing.T) {
	ctx := context.Background()
	eight := &Composed{From: "soporte@example.com", Rcpts: []string{"ana@example.com"}, EightBit: true,
		Data: []byte("Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\n¿Qué tal?\r\n")}
	pool := func(addr string) *SMTPPool {
		p := &SMTPPool{SMTPTransport: SMTPTransport{Addr: addr, Username: "ticketd", Password: "s3cret", StartTLS: "none", Hostname: "tickets.example.com"}}
		t.Cleanup(func() { p.Close() })
		return p
	}

	h, _ := startSmarthost(t, false)
	p := pool(h.addr)
	if p.EightBit() {
		t.Error("the pool says 8bit before it met the smarthost")
	}
	if err := p.Send(ctx, 1, eight); err != nil {
		t.Fatalf("send to a smarthost with 8BITMIME: %v", err)
	}
	if got := h.mails(); len(got) != 1 || !got[0].EightBit || !strings.Contains(string(got[0].Data), "¿Qué tal?") {
		t.Errorf("smarthost with 8BITMIME got %+v, want the mail as it is after BODY=8BITMIME", got)
	}
	if !p.EightBit() {
		t.Error("the pool does not say 8bit after a session that offered 8BITMIME")
	}

	h2, _ := startSmarthost(t, false)
	p2 := pool(hideCapability(t, h2.addr, "8BITMIME"))
	err := p2.Send(ctx, 1, eight)
	var perm *PermanentError
	if err == nil || errors.As(err, &perm) || !strings.Contains(err.Error(), "8BITMIME") {
		t.Errorf("send 8bit to a smarthost without 8BITMIME: %v, want a temporary error naming 8BITMIME", err)
	}
	if got := h2.mails(); len(got) != 0 {
		t.Errorf("smarthost without 8BITMIME got %+v, want nothing", got)
	}
	if p2.EightBit() {
		t.Error("the pool says 8bit after a session that did not offer 8BITMIME")
	}
	seven := &Composed{From: "soporte@example.com", Rcpts: []string{"ana@example.com"},
		Data: []byte("Subject: x\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C2=BFQu=C3=A9 tal?\r\n")}
	if err := p2.Send(ctx, 1, seven); err != nil {
		t.Fatalf("send quoted-printable to a smarthost without 8BITMIME: %v", err)
	}
	if got := h2.mails(); len(got) != 1 || got[0].EightBit {
		t.Errorf("smarthost without 8BITMIME got %+v, want one mail with no BODY=8BITMIME", got)
	}
}
