package smtpd_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

// BenchmarkIngest pushes new-ticket mails through real SMTP into ticketd
// (durable: ticket, acknowledgement and agent notifications committed
// before each 250) and, in the same run, into a go-smtp server that
// discards everything: the ceiling of this machine.
func BenchmarkIngest(b *testing.B) {
	sizes := []struct {
		name string
		body func(i int) string
	}{
		{"10KB", func(i int) string { return textMail(i, 10<<10) }},
		{"200KB", func(i int) string { return attachmentMail(i, 200<<10) }},
	}
	for _, size := range sizes {
		for _, conns := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("discard/%s/conns=%d", size.name, conns), func(b *testing.B) {
				addr := discardServer(b)
				runLoad(b, addr, conns, size.body)
			})
			b.Run(fmt.Sprintf("ticketd/%s/conns=%d", size.name, conns), func(b *testing.B) {
				e := daemontest.Start(b, "")
				runLoad(b, e.D.SMTPAddr.String(), conns, size.body)
			})
		}
	}
}

// runLoad sends b.N mails over conns connections, each connection reused
// for many mails as a relay would, and reports throughput and latency.
func runLoad(b *testing.B, addr string, conns int, mail func(int) string) {
	b.Helper()
	runLoadOn(b, []string{addr}, conns, mail)
}

// runLoadOn is runLoad spread over several servers (connection c goes to
// addrs[c % len(addrs)]), as a load balancer would spread it.
func runLoadOn(b *testing.B, addrs []string, conns int, mail func(int) string) {
	b.Helper()
	// Build the mails before the clock starts.
	pool := make([]string, 64)
	for i := range pool {
		pool[i] = mail(i)
	}
	b.SetBytes(int64(len(pool[0])))
	var next atomic.Int64
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	errc := make(chan error, conns)
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := smtp.Dial(addrs[c%len(addrs)])
			if err != nil {
				errc <- err
				return
			}
			defer cl.Close()
			if err := cl.Hello("bench.example.org"); err != nil {
				errc <- err
				return
			}
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					cl.Quit()
					return
				}
				body := pool[i%len(pool)]
				from := fmt.Sprintf("c%d@cliente.example", i)
				t0 := time.Now()
				// Each mail is unique, as real mail is: its own sender and Message-ID.
				body = strings.Replace(body, "From: x@cliente.example", "From: "+from, 1)
				body = strings.Replace(body, "@cliente.example>", fmt.Sprintf(".%d@cliente.example>", i), 1)
				if err := send(cl, from, body); err != nil {
					errc <- err
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errc:
		b.Fatal(err)
	default:
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "mails/s")
	b.ReportMetric(float64(lat[b.N/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(b.N*99)/100].Microseconds())/1000, "p99-ms")
}

func send(c *smtp.Client, from, body string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt("soporte@example.com", nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, body); err != nil {
		return err
	}
	return w.Close()
}

func textMail(i, size int) string {
	line := "Hola, les escribo porque desde ayer la aplicación no me deja entrar en mi cuenta.\r\n"
	body := strings.Repeat(line, size/len(line))
	return fmt.Sprintf("From: x@cliente.example\r\nTo: soporte@example.com\r\nSubject: Pedido %d no llega\r\nMessage-ID: <bench-%d@cliente.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s", i, i, body)
}

func attachmentMail(i, size int) string {
	blob := make([]byte, size*3/4)
	rand.Read(blob)
	enc := base64.StdEncoding.EncodeToString(blob)
	var sb strings.Builder
	for len(enc) > 76 {
		sb.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	sb.WriteString(enc + "\r\n")
	return fmt.Sprintf("From: x@cliente.example\r\nTo: soporte@example.com\r\nSubject: Captura %d\r\nMessage-ID: <bench-att-%d@cliente.example>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Adjunto la captura del error.\r\n--B\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"+
		"Content-Disposition: attachment; filename=\"captura.png\"\r\n\r\n%s--B--\r\n", i, i, sb.String())
}

// discardServer is the ceiling: go-smtp accepting and dropping everything.
func discardServer(b *testing.B) string {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return discard{}, nil }))
	srv.Domain = "discard.test"
	srv.MaxMessageBytes = 26214400
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

type discard struct{}

func (discard) Mail(string, *smtp.MailOptions) error { return nil }
func (discard) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (discard) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (discard) Reset()        {}
func (discard) Logout() error { return nil }
