// Command bench measures ticketd end to end beside Mailpit and a go-smtp
// server that discards everything, in one run on the same machine with the
// same load, and prints the table of the README's "Benchmark".
//
//	go install github.com/axllent/mailpit@v1.33.1   # a benchmark tool only
//	go run ./internal/cmd/bench
//
// The load is new-ticket mails over real SMTP at 16 connections (and 1),
// each connection sending many mails as a relay does. ticketd runs as its
// own process (the binary built from this tree), with its outbox sending
// every acknowledgement and agent notification to a smarthost in this
// process that writes and fsyncs each mail it accepts. "intake" is mails
// answered 250 per second; "end to end" is mails per second until the
// smarthost holds the three mails each one causes. Mailpit runs as its own
// process too, with its defaults (it keeps the latest 500 mails).
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
)

func main() {
	n10 := flag.Int("mails", 4000, "10 KB mails per target at 16 connections")
	nPDF := flag.Int("pdf-mails", 1200, "mails with a 143 KB PDF per target")
	n1 := flag.Int("mails-1", 1500, "10 KB mails per target at 1 connection")
	big := flag.Bool("big", true, "also send a 25 MB mail on each of 16 connections and report ticketd's peak RSS")
	mailpit := flag.String("mailpit", "", "the mailpit binary (default: mailpit in PATH or in $(go env GOPATH)/bin)")
	ticketd := flag.String("ticketd", "", "a ticketd binary to measure (default: built from this tree)")
	flag.IntVar(&smtpConnections, "smtp-connections", 0, "ticketd's [outbound] smtp_connections (0: its default)")
	flag.StringVar(&only, "loads", "", "run only these loads, comma-separated of 10k16, pdf16, 10k1 (default all)")
	flag.Parse()
	if err := run(*n10, *nPDF, *n1, *big, *mailpit, *ticketd); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type result struct {
	intake, e2e float64 // mails/s
	p99         time.Duration
	// ceiling is the smarthost alone taking the very mails ticketd sent,
	// over as many connections, divided by the three mails each incoming
	// one causes: the most end to end can be on this disk.
	ceiling float64
	// cpu is ticketd's CPU time (user + system) per mail from the first
	// mail in to the last one out, and harness the same for this process
	// (the load and the smarthost).
	cpu, harness time.Duration
	// intakeCPU and outCPU split cpu: what taking one mail in costs, and
	// what one outgoing mail costs (see split).
	intakeCPU, outCPU time.Duration
}

func run(n10, nPDF, n1 int, big bool, mailpitBin, bin string) error {
	work, err := os.MkdirTemp("", "ticketd-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if mailpitBin == "" {
		if mailpitBin, err = findMailpit(); err != nil {
			return err
		}
	}
	if bin == "" {
		bin = filepath.Join(work, "ticketd")
		fmt.Fprintln(os.Stderr, "building ticketd…")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/ticketd").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/ticketd (run from the repository's root): %v\n%s", err, out)
		}
	}
	loads := []struct {
		name  string
		conns int
		n     int
		mail  func(int) string
	}{
		{"10 KB", 16, n10, textMail},
		{"4 KB + 143 KB PDF", 16, nPDF, pdfMail},
		{"10 KB", 1, n1, textMail},
	}
	if only != "" {
		keys := []string{"10k16", "pdf16", "10k1"}
		var kept []int
		for i, k := range keys {
			if strings.Contains(","+only+",", ","+k+",") {
				kept = append(kept, i)
			}
		}
		if len(kept) == 0 {
			return fmt.Errorf("-loads %q: want some of 10k16, pdf16, 10k1", only)
		}
		all := loads
		loads = loads[:0:0]
		for _, i := range kept {
			loads = append(loads, all[i])
		}
	}
	type row struct{ discard, mailpit, ticketd result }
	rows := make([]row, len(loads))
	for i, l := range loads {
		fmt.Fprintf(os.Stderr, "%s at %d connections, %d mails each…\n", l.name, l.conns, l.n)
		mails := prepare(l.n, l.mail)
		d, err := startDiscard()
		if err != nil {
			return err
		}
		rows[i].discard, err = load(d.addr, l.conns, mails)
		d.close()
		if err != nil {
			return fmt.Errorf("discard: %w", err)
		}
		mp, err := startMailpit(mailpitBin, filepath.Join(work, fmt.Sprintf("mailpit-%d", i)))
		if err != nil {
			return err
		}
		mpCPU := procCPU(mp.cmd.Process.Pid)
		rows[i].mailpit, err = load(mp.addr, l.conns, mails)
		rows[i].mailpit.cpu = (procCPU(mp.cmd.Process.Pid) - mpCPU) / time.Duration(len(mails))
		mp.stop()
		if err != nil {
			return fmt.Errorf("mailpit: %w", err)
		}
		td, err := startTicketd(bin, filepath.Join(work, fmt.Sprintf("ticketd-%d", i)))
		if err != nil {
			return err
		}
		start, cpu0, self0 := time.Now(), procCPU(td.cmd.Process.Pid), selfCPU()
		rows[i].ticketd, err = load(td.addr, l.conns, mails)
		cpuIn, sentIn := procCPU(td.cmd.Process.Pid), td.host.count.Load()
		if err == nil {
			err = td.host.waitFor(3*len(mails), 5*time.Minute)
			rows[i].ticketd.e2e = float64(len(mails)) / time.Since(start).Seconds()
			used := procCPU(td.cmd.Process.Pid) - cpu0
			rows[i].ticketd.cpu = used / time.Duration(len(mails))
			rows[i].ticketd.harness = (selfCPU() - self0) / time.Duration(len(mails))
			rows[i].ticketd.intakeCPU, rows[i].ticketd.outCPU = split(len(mails), int(sentIn), cpuIn-cpu0, used)
		}
		td.stop()
		if err != nil {
			return fmt.Errorf("ticketd: %w", err)
		}
		if rows[i].ticketd.ceiling, err = ceiling(filepath.Join(work, fmt.Sprintf("ticketd-%d", i), "smarthost"), filepath.Join(work, fmt.Sprintf("replay-%d", i))); err != nil {
			return fmt.Errorf("smarthost alone: %w", err)
		}
	}
	var bigLine string
	if big {
		fmt.Fprintln(os.Stderr, "16 connections × 25 MB…")
		if bigLine, err = bigMails(bin, filepath.Join(work, "ticketd-big")); err != nil {
			return err
		}
	}
	fmt.Printf("| %s | discard | Mailpit intake | ticketd intake | ticketd end to end | smarthost alone ÷ 3 |\n|---|---:|---:|---:|---:|---:|\n", "load")
	for i, l := range loads {
		r := rows[i]
		e2e := fmt.Sprintf("**%s/s** (%.2f× Mailpit)", thousands(r.ticketd.e2e), r.ticketd.e2e/r.mailpit.intake)
		fmt.Printf("| %s, %d conn | %s/s | %s/s | %s/s (%.2f× Mailpit) | %s | %s/s (%.2f× Mailpit) |\n", l.name, l.conns,
			thousands(r.discard.intake), thousands(r.mailpit.intake), thousands(r.ticketd.intake), r.ticketd.intake/r.mailpit.intake, e2e,
			thousands(r.ticketd.ceiling), r.ticketd.ceiling/r.mailpit.intake)
	}
	fmt.Println()
	for i, l := range loads {
		fmt.Printf("p99 accept latency, %s at %d connections: ticketd %.1f ms, Mailpit %.1f ms, discard %.1f ms\n",
			l.name, l.conns, ms(rows[i].ticketd.p99), ms(rows[i].mailpit.p99), ms(rows[i].discard.p99))
	}
	for i, l := range loads {
		r := rows[i].ticketd
		fmt.Printf("CPU per mail end to end, %s at %d connections: ticketd %.2f ms (taking it in %.2f ms, each of its 3 outgoing mails %.2f ms), load and smarthost %.2f ms; Mailpit taking it in %.2f ms\n",
			l.name, l.conns, ms(r.cpu), ms(r.intakeCPU), ms(r.outCPU), ms(r.harness), ms(rows[i].mailpit.cpu))
	}
	if bigLine != "" {
		fmt.Println(bigLine)
	}
	return nil
}

// ceiling replays the mails ticketd's smarthost received (in dir) into a
// fresh smarthost that fsyncs each one, over as many connections as
// ticketd's outbox uses, with nothing else running, and returns a third
// of the mails per second it took: three outgoing mails per incoming one,
// so end to end cannot be faster on this disk.
func ceiling(dir, replay string) (float64, error) {
	names, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	mails := make([]string, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n.Name()))
		if err != nil {
			return 0, err
		}
		mails = append(mails, string(b))
	}
	if len(mails) == 0 {
		return 0, errors.New("ticketd's smarthost holds no mail")
	}
	if err := os.MkdirAll(replay, 0o750); err != nil {
		return 0, err
	}
	host, err := startServer(replay)
	if err != nil {
		return 0, err
	}
	defer host.close()
	conns := smtpConnections
	if conns == 0 {
		conns = 4 // ticketd's default [outbound] smtp_connections
	}
	r, err := load(host.addr, conns, mails)
	if err != nil {
		return 0, err
	}
	return r.intake / 3, nil
}

// only, when set, names the loads to run.
var only string

// smtpConnections, when set, goes into ticketd's [outbound].
var smtpConnections int

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func thousands(f float64) string {
	s := strconv.Itoa(int(f + 0.5))
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func findMailpit() (string, error) {
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "mailpit")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("mailpit not found: go install github.com/axllent/mailpit@v1.33.1 (or pass -mailpit)")
}

// prepare builds n unique mails (each its own sender and Message-ID, as
// real mail is) before any clock starts.
func prepare(n int, mail func(int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = mail(i)
	}
	return out
}

// load sends mails over conns connections, each reused for many mails,
// and returns mails answered 250 per second and the p99 latency of one
// mail (MAIL to the answer after DATA).
func load(addr string, conns int, mails []string) (result, error) {
	var next atomic.Int64
	lat := make([]time.Duration, len(mails))
	var wg sync.WaitGroup
	errc := make(chan error, conns)
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(addr)
			if err != nil {
				errc <- err
				return
			}
			defer c.Close()
			if err := c.Hello("bench.example.org"); err != nil {
				errc <- err
				return
			}
			for {
				i := int(next.Add(1)) - 1
				if i >= len(mails) {
					c.Quit()
					return
				}
				t0 := time.Now()
				if err := send(c, fmt.Sprintf("c%d@cliente.example", i), mails[i]); err != nil {
					errc <- fmt.Errorf("mail %d: %w", i, err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errc:
		return result{}, err
	default:
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return result{intake: float64(len(mails)) / elapsed.Seconds(), p99: lat[len(lat)*99/100]}, nil
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

const textLine = "Hola, les escribo porque desde ayer la aplicación no me deja entrar en mi cuenta.\r\n"

func textMail(i int) string {
	return fmt.Sprintf("From: c%d@cliente.example\r\nTo: soporte@example.com\r\nSubject: Pedido %d no llega\r\nMessage-ID: <bench-%d@cliente.example>\r\n"+
		"Date: Mon, 2 Nov 2026 09:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s", i, i, i, strings.Repeat(textLine, 10<<10/len(textLine)))
}

// pdf is 143 KB that starts like a PDF; random bytes, so nothing
// compresses it.
var pdf = func() string {
	b := make([]byte, 143<<10)
	rand.Read(b)
	copy(b, "%PDF-1.7\n")
	return wrap76(base64.StdEncoding.EncodeToString(b))
}()

func wrap76(s string) string {
	var sb strings.Builder
	for len(s) > 76 {
		sb.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	sb.WriteString(s + "\r\n")
	return sb.String()
}

func pdfMail(i int) string {
	return fmt.Sprintf("From: c%d@cliente.example\r\nTo: soporte@example.com\r\nSubject: Factura %d duplicada\r\nMessage-ID: <bench-pdf-%d@cliente.example>\r\n"+
		"Date: Mon, 2 Nov 2026 09:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"+
		"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s--B\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"+
		"Content-Disposition: attachment; filename=\"factura-%d.pdf\"\r\n\r\n%s--B--\r\n",
		i, i, i, strings.Repeat(textLine, 4<<10/len(textLine)), i, pdf)
}

// server is a go-smtp server in this process: the discard ceiling, or the
// smarthost ticketd's outbox sends to.
type server struct {
	addr  string
	srv   *smtp.Server
	dir   string // where the smarthost writes each mail ("" discards)
	count atomic.Int64
	seq   atomic.Int64
	mu    sync.Mutex
	cond  *sync.Cond
}

func startServer(dir string) (*server, error) {
	s := &server{dir: dir}
	s.cond = sync.NewCond(&s.mu)
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "bench.test"
	s.srv.MaxMessageBytes = 64 << 20
	s.srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.addr = l.Addr().String()
	go s.srv.Serve(l)
	return s, nil
}

func startDiscard() (*server, error) { return startServer("") }

func (s *server) close() { s.srv.Close() }

// waitFor waits until the smarthost accepted n mails.
func (s *server) waitFor(n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for s.count.Load() < int64(n) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the smarthost got %d of %d mails in %s", s.count.Load(), n, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

type session struct{ s *server }

func (*session) Mail(string, *smtp.MailOptions) error { return nil }
func (*session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *session) Data(r io.Reader) error {
	s := ss.s
	if s.dir == "" {
		_, err := io.Copy(io.Discard, r)
		return err
	}
	// A real smarthost says 250 only once the mail is on disk.
	f, err := os.Create(filepath.Join(s.dir, strconv.FormatInt(s.seq.Add(1), 10)+".eml"))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	s.count.Add(1)
	return nil
}
func (*session) Reset()        {}
func (*session) Logout() error { return nil }

// proc is a server in its own process.
type proc struct {
	addr string
	cmd  *exec.Cmd
	host *server // ticketd's smarthost
}

func (p *proc) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	if p.host != nil {
		p.host.close()
	}
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitListening waits until addr answers with an SMTP greeting.
func waitListening(addr string, cmd *exec.Cmd, log *bytes.Buffer) error {
	for range 600 {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "220") {
				return nil
			}
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not start listening on %s:\n%s", filepath.Base(cmd.Path), addr, log)
}

func startMailpit(bin, dir string) (*proc, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	web, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--smtp", addr, "--listen", web, "--database", filepath.Join(dir, "mailpit.db"), "--quiet")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if err := waitListening(addr, cmd, &log); err != nil {
		cmd.Process.Kill()
		return nil, err
	}
	return &proc{addr: addr, cmd: cmd}, nil
}

// startTicketd runs `ticketd serve` on a fresh data folder, sending its
// mail to a smarthost that fsyncs each one.
func startTicketd(bin, dir string) (*proc, error) {
	outDir := filepath.Join(dir, "smarthost")
	if err := os.MkdirAll(outDir, 0o750); err != nil {
		return nil, err
	}
	host, err := startServer(outDir)
	if err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`[server]
hostname = "tickets.example.com"
data_dir = %q
base_url = "https://help.example.com"
language = "es"

[smtp]
listen = %q

[http]
listen = ""

[outbound]
transport = "smtp"
smtp_addr = %q
smtp_starttls = "none"
%s
[[mailboxes]]
address = "soporte@example.com"
name = "Soporte Example"
agents = ["ana@example.com", "luis@example.com"]

[[agents]]
email = "ana@example.com"

[[agents]]
email = "luis@example.com"
`, filepath.Join(dir, "data"), addr, host.addr, connsLine())
	path := filepath.Join(dir, "ticketd.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "-config", path)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &limitedWriter{b: &log, n: 1 << 16}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if err := waitListening(addr, cmd, &log); err != nil {
		cmd.Process.Kill()
		return nil, err
	}
	return &proc{addr: addr, cmd: cmd, host: host}, nil
}

func connsLine() string {
	if smtpConnections == 0 {
		return ""
	}
	return fmt.Sprintf("smtp_connections = %d\n", smtpConnections)
}

// limitedWriter keeps the first n bytes of a process's log.
type limitedWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
	n  int
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.n - w.b.Len(); room > 0 {
		w.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// bigMails sends one 25 MB mail on each of 16 connections at once and
// reports the answers and ticketd's peak resident memory.
func bigMails(bin, dir string) (string, error) {
	td, err := startTicketd(bin, dir)
	if err != nil {
		return "", err
	}
	defer td.stop()
	blob := make([]byte, 18<<20) // 18 MiB of bytes are 25 MB of base64
	rand.Read(blob)
	body := wrap76(base64.StdEncoding.EncodeToString(blob))
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mail := fmt.Sprintf("From: big%d@cliente.example\r\nTo: soporte@example.com\r\nSubject: Vídeo %d\r\nMessage-ID: <big-%d@cliente.example>\r\n"+
				"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nAdjunto el vídeo.\r\n"+
				"--B\r\nContent-Type: video/mp4\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"v.mp4\"\r\n\r\n%s--B--\r\n", i, i, i, body)
			code := "error"
			c, err := smtp.Dial(td.addr)
			if err == nil {
				defer c.Close()
				if err = c.Hello("bench.example.org"); err == nil {
					err = send(c, fmt.Sprintf("big%d@cliente.example", i), mail)
				}
				var se *smtp.SMTPError
				switch {
				case err == nil:
					code = "250"
				case errors.As(err, &se):
					code = strconv.Itoa(se.Code)
				default:
					code = "error: " + err.Error()
				}
			}
			mu.Lock()
			answers[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	hwm := peakRSS(td.cmd.Process.Pid)
	var parts []string
	for code, n := range answers {
		parts = append(parts, fmt.Sprintf("%d × %s", n, code))
	}
	sort.Strings(parts)
	return fmt.Sprintf("16 connections × 25 MB mail: answers %s; ticketd's peak RSS %d MB", strings.Join(parts, ", "), hwm>>20), nil
}

// split works out what one incoming and one outgoing mail cost ticketd
// from the CPU it used while the n mails came in (atIntake, with sent
// outgoing mails gone meanwhile) and until all 3n were out (total): the
// outgoing mails after intake cost total - atIntake, the rest is intake.
func split(n, sent int, atIntake, total time.Duration) (in, out time.Duration) {
	if after := 3*n - sent; after > 0 {
		out = (total - atIntake) / time.Duration(after)
	}
	in = (atIntake - out*time.Duration(sent)) / time.Duration(n)
	return in, out
}

// procCPU reads the user and system time a process has used so far.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command's name, which is in parentheses and
	// may hold spaces: utime and stime are the 12th and 13th, in ticks of
	// 1/100 s (USER_HZ).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

// selfCPU is the user and system time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS reads a process's high-water resident set (VmHWM), in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
