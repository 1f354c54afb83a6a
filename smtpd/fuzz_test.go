package smtpd_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/intake"
	"github.com/ticketd/ticketd/smtpd"
	"github.com/ticketd/ticketd/store"
)

// pipeListener hands out one connection, then waits until closed.
type pipeListener struct {
	c    chan net.Conn
	done chan struct{}
	once sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.c:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}
func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// The states a fuzzed session starts from: each prefix is answered before
// the fuzzed bytes follow.
var fuzzStates = []string{
	"",
	"EHLO fuzz.example\r\n",
	"EHLO fuzz.example\r\nMAIL FROM:<carla@cliente.example>\r\n",
	"EHLO fuzz.example\r\nMAIL FROM:<carla@cliente.example>\r\nRCPT TO:<soporte@example.com>\r\n",
	"EHLO fuzz.example\r\nMAIL FROM:<carla@cliente.example>\r\nRCPT TO:<soporte@example.com>\r\nDATA\r\n",
	"EHLO fuzz.example\r\nMAIL FROM:<carla@cliente.example>\r\nRCPT TO:<soporte@example.com>\r\nBDAT 20\r\n",
}

var fuzzTrailer = "\r\n.\r\n" + strings.Repeat("NOOP\r\n", 8) + "QUIT\r\n"

var replyLine = regexp.MustCompile(`^[2-5][0-9][0-9][ -]`)

// FuzzServer runs arbitrary bytes through a real SMTP and LMTP session
// (net.Pipe, the real intake and store) from each protocol state, as mox's
// smtpserver FuzzServer does. Whatever arrives, the session ends, every
// line the server says is a well-formed reply without internal error text,
// and nothing panics.
func FuzzServer(f *testing.F) {
	for _, seed := range []string{
		"From: carla@cliente.example\r\nSubject: Hola\r\n\r\nHola.\r\n.\r\nQUIT\r\n",
		"RCPT TO:<Postmaster>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\n.\r\n",
		"BDAT 10 LAST\r\nSubject: x\r\nRSET\r\nMAIL FROM:<>\r\n",
		"MAIL FROM:<a@b> SIZE=99999999999\r\nRCPT TO:<soporte+abc@example.com>\r\nNOOP\r\nVRFY x\r\nSTARTTLS\r\n",
		strings.Repeat("x", 3000) + "\r\n",
		"\r\n.\r\nRSET\r\nMAIL FROM:<ceo@example.com>\r\nRCPT TO:<soporte@example.com>\r\nDATA\r\nSubject: smuggled\r\n\r\n.\r\n",
		"LHLO x\r\nAUTH PLAIN AGFAYg==\r\n\x00\xff\r\n",
	} {
		for pick := range 2 * len(fuzzStates) {
			f.Add(append([]byte{byte(pick)}, seed...))
		}
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "ticketd.toml")
	if err := os.WriteFile(path, []byte(daemontest.BaseConfig(dir)), 0o600); err != nil {
		f.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		f.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	desk := intake.New(st, cfg, []byte("0123456789abcdef0123456789abcdef"), func() time.Time { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) }, quiet)
	f.Fuzz(func(t *testing.T, data []byte) {
		// The first byte picks the protocol and the state, so each input is
		// one session and the fuzzer learns which byte leads where.
		if len(data) == 0 {
			return
		}
		pick := int(data[0]) % (2 * len(fuzzStates))
		lmtp, state := pick >= len(fuzzStates), fuzzStates[pick%len(fuzzStates)]
		if lmtp {
			state = strings.Replace(state, "EHLO", "LHLO", 1)
		}
		fuzzSession(t, desk, lmtp, append([]byte(state), data[1:]...))
	})
}

func fuzzSession(t *testing.T, desk *intake.Desk, lmtp bool, input []byte) {
	srv := smtpd.New(desk, smtpd.Options{
		Hostname: "tickets.example.com", MaxMessageBytes: 4096, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		// Short, so an input that leaves the session waiting costs little.
		ReadTimeout: 100 * time.Millisecond, DataTimeout: 300 * time.Millisecond,
		Postmaster: func(addr string) (string, bool) {
			return "soporte@example.com", strings.EqualFold(addr, "postmaster@tickets.example.com")
		},
	})
	server, client := net.Pipe()
	l := &pipeListener{c: make(chan net.Conn, 1), done: make(chan struct{})}
	l.c <- server
	served := make(chan struct{})
	go func() { srv.Serve(l, lmtp); close(served) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
	}()
	client.SetDeadline(time.Now().Add(3 * time.Second))
	replies := make(chan []string, 1)
	go func() {
		var lines []string
		br := bufio.NewReader(client)
		for {
			l, err := br.ReadString('\n')
			if l != "" {
				lines = append(lines, l)
			}
			if err != nil {
				break
			}
		}
		replies <- lines
	}()
	// net.Pipe has no half-close: the session is ended by the protocol,
	// whatever state the input left it in (a message is ended, a chunk
	// filled), and the server closes after QUIT or its read timeout.
	go client.Write(append(input, fuzzTrailer...))
	lines := <-replies
	client.Close()
	for _, l := range lines {
		if !replyLine.MatchString(l) {
			t.Fatalf("not a reply line: %q (input %q)", l, input)
		}
		for _, leak := range []string{"smtp:", "transaction failed", "i/o timeout", "EOF", "Internal server error", "pipe"} {
			if strings.Contains(l, leak) {
				t.Fatalf("reply %q carries %q (input %q)", l, leak, input)
			}
		}
	}
}
