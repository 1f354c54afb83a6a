// Package imapgwtest starts a private Dovecot for tests: its config, mail,
// sockets and logs all live in t.TempDir(), it listens on a free loopback
// port, and it touches no system service.
package imapgwtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Test account.
const (
	User     = "support"
	Password = "s3cret-imap-pw"
)

// Dovecot is one running (or stopped) test server.
type Dovecot struct {
	Addr string // 127.0.0.1:port, the same across restarts
	Dir  string

	t    testing.TB
	conf string
	cmd  *exec.Cmd
	done chan struct{}
}

// Binary finds dovecot. Outside CI a missing binary skips the test; with
// CI=true it fails it, so CI cannot pass by skipping.
func Binary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"dovecot", "/usr/sbin/dovecot"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("dovecot not found; CI must install dovecot-imapd")
	}
	t.Skip("dovecot not found (install dovecot-imapd to run the IMAP tests)")
	return ""
}

// Start starts a Dovecot with one user (User, Password) and an empty INBOX.
func Start(t testing.TB) *Dovecot {
	t.Helper()
	return StartWith(t, "")
}

// StartWith is Start with extra configuration lines, such as an
// imap_capability that hides IDLE or MOVE.
func StartWith(t testing.TB, extra string) *Dovecot {
	t.Helper()
	return start(t, extra, "")
}

// StartOAuth2 is Start with XOAUTH2 (and OAUTHBEARER) logins besides
// passwords: Dovecot's oauth2 passdb asks introspectionURL (RFC 7662, POST)
// whether a token is active and for which username, which must be User.
func StartOAuth2(t testing.TB, introspectionURL string) *Dovecot {
	t.Helper()
	bin := Binary(t)
	if major, minor := version(bin); major > 2 || (major == 2 && minor >= 4) {
		// 2.4 moved token checks out of the passdb; this config is 2.3's.
		t.Skipf("the XOAUTH2 test config is written for Dovecot 2.3 (Debian 12), not %d.%d", major, minor)
	}
	return start(t, "", introspectionURL)
}

func start(t testing.TB, extra, oauth2URL string) *Dovecot {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	d := &Dovecot{Dir: dir, t: t, conf: filepath.Join(dir, "dovecot.conf")}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.Addr = l.Addr().String()
	l.Close()
	if oauth2URL != "" {
		var err error
		if extra, err = d.oauth2Config(oauth2URL); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.writeConfig(bin, extra); err != nil {
		t.Fatal(err)
	}
	d.Start()
	t.Cleanup(d.Stop)
	return d
}

func (d *Dovecot) writeConfig(bin, extra string) error {
	_, port, _ := net.SplitHostPort(d.Addr)
	// Dovecot refuses to give mail access to root, and its login process
	// must not run as root: as root, mail belongs to "nobody" and the
	// temp dirs are made traversable for it.
	mailUID, mailGID := os.Getuid(), os.Getgid()
	internal, login := "", ""
	if cur, err := user.Current(); err == nil {
		internal, login = cur.Username, cur.Username
	}
	if os.Getuid() == 0 {
		mailUID, mailGID = 65534, 65534
		if u, err := user.Lookup("nobody"); err == nil {
			mailUID, _ = strconv.Atoi(u.Uid)
			mailGID, _ = strconv.Atoi(u.Gid)
		}
		internal, login = "root", "nobody"
		if _, err := user.Lookup("dovenull"); err == nil {
			login = "dovenull"
		}
		for _, p := range []string{filepath.Dir(d.Dir), d.Dir} {
			if err := os.Chmod(p, 0o711); err != nil {
				return err
			}
		}
	}
	home := filepath.Join(d.Dir, "mail", User)
	if err := os.MkdirAll(home, 0o711); err != nil {
		return err
	}
	if err := os.Chown(home, mailUID, mailGID); err != nil && os.Getuid() == 0 {
		return err
	}
	passwd := filepath.Join(d.Dir, "passwd")
	line := fmt.Sprintf("%s:{PLAIN}%s:%d:%d::%s::\n", User, Password, mailUID, mailGID, home)
	if err := os.WriteFile(passwd, []byte(line), 0o600); err != nil {
		return err
	}
	major, minor := version(bin)
	var conf string
	if major > 2 || (major == 2 && minor >= 4) {
		conf = fmt.Sprintf(conf24, d.Dir, internal, login, passwd, port)
	} else {
		conf = fmt.Sprintf(conf23, d.Dir, internal, login, passwd, port)
	}
	return os.WriteFile(d.conf, []byte(conf+extra+"\n"), 0o600)
}

var versionRE = regexp.MustCompile(`^(\d+)\.(\d+)`)

func version(bin string) (int, int) {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return 2, 3
	}
	m := versionRE.FindStringSubmatch(strings.TrimSpace(string(out)))
	if m == nil {
		return 2, 3
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	return a, b
}

// conf23 is for Dovecot 2.3 (Debian 12). Arguments: dir, internal user,
// login user, passwd file, port.
const conf23 = `
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
instance_name = ticketd-test
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = %[2]s
default_internal_group = %[2]s
default_login_user = %[3]s
mail_location = maildir:~/Maildir
mail_fsync = never
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%%u %[4]s
}
userdb {
  driver = passwd-file
  args = username_format=%%u %[4]s
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[5]s
  }
  inet_listener imaps {
    port = 0
  }
}
`

// conf24 is the same for Dovecot 2.4's renamed settings.
const conf24 = `
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
instance_name = ticketd-test
protocols = imap
listen = 127.0.0.1
ssl = no
auth_allow_cleartext = yes
auth_mechanisms = plain login
default_internal_user = %[2]s
default_internal_group = %[2]s
default_login_user = %[3]s
mail_driver = maildir
mail_path = ~/Maildir
mail_fsync = never
passdb passwd-file {
  passwd_file_path = %[4]s
}
userdb passwd-file {
  passwd_file_path = %[4]s
}
service imap-login {
  inet_listener imap {
    listen = 127.0.0.1
    port = %[5]s
  }
  inet_listener imaps {
    port = 0
  }
}
`

// oauth2Config writes the oauth2 passdb's settings and returns the lines
// that turn it on. Passwords still work (the passwd-file passdb is asked
// only for PLAIN and LOGIN), so test helpers can keep logging in.
func (d *Dovecot) oauth2Config(introspectionURL string) (string, error) {
	ext := filepath.Join(d.Dir, "dovecot-oauth2.conf.ext")
	settings := "introspection_mode = post\n" +
		"introspection_url = " + introspectionURL + "\n" +
		"username_attribute = username\n" +
		"active_attribute = active\n" +
		"active_value = true\n" +
		"force_introspection = yes\n"
	if err := os.WriteFile(ext, []byte(settings), 0o644); err != nil {
		return "", err
	}
	return fmt.Sprintf(`
auth_mechanisms = plain login xoauth2 oauthbearer
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = %s
}
`, ext), nil
}

// Start (re)starts the server and returns once it greets on Addr.
func (d *Dovecot) Start() {
	d.t.Helper()
	cmd := exec.Command(Binary(d.t), "-F", "-c", d.conf)
	// A file, not a pipe: children that inherit it must not hold up Wait.
	out, err := os.OpenFile(filepath.Join(d.Dir, "dovecot.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("start dovecot: %v", err)
	}
	d.cmd, d.done = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(d.done)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if d.greets() {
			return
		}
		select {
		case <-d.done:
			d.t.Fatalf("dovecot exited:\n%s", d.Log())
		default:
		}
		if time.Now().After(deadline) {
			d.Stop()
			d.t.Fatalf("dovecot did not answer on %s:\n%s", d.Addr, d.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *Dovecot) greets() bool {
	c, err := net.DialTimeout("tcp", d.Addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 5)
	n, _ := c.Read(buf)
	return n >= 4 && string(buf[:4]) == "* OK"
}

// Stop stops the server (SIGTERM to the master, which ends every session)
// and waits for it. It may be called again.
func (d *Dovecot) Stop() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
	}
	// Sessions may outlive the master for a while; end them as a crash
	// or a reboot would, so no process of this test survives it.
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	<-d.done
	d.cmd = nil
	// The master is gone; make sure none of its children lingers on the port.
	for i := 0; i < 100 && d.greets(); i++ {
		time.Sleep(20 * time.Millisecond)
	}
}

// Log returns the server's log file and what it printed.
func (d *Dovecot) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "dovecot.log"))
	out, _ := os.ReadFile(filepath.Join(d.Dir, "dovecot.out"))
	return string(b) + string(out)
}

// Client returns a logged-in client, closed at the end of the test.
func (d *Dovecot) Client() *imapclient.Client {
	d.t.Helper()
	c, err := imapclient.DialInsecure(d.Addr, nil)
	if err != nil {
		d.t.Fatalf("imap dial: %v", err)
	}
	d.t.Cleanup(func() { c.Close() })
	if err := c.Login(User, Password).Wait(); err != nil {
		d.t.Fatalf("imap login: %v", err)
	}
	return c
}

// Mail is one message to append.
type Mail struct {
	Raw   string
	Date  time.Time // internal date; zero means now
	Flags []imap.Flag
}

// Append puts mails into folder (created when missing) with IMAP APPEND,
// pipelined, and returns their UIDs.
func (d *Dovecot) Append(folder string, mails ...Mail) []imap.UID {
	d.t.Helper()
	c := d.Client()
	defer c.Logout()
	if err := c.Create(folder, nil).Wait(); err != nil {
		var ie *imap.Error
		if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeAlreadyExists {
			d.t.Fatalf("create %s: %v", folder, err)
		}
	}
	cmds := make([]*imapclient.AppendCommand, 0, len(mails))
	for _, m := range mails {
		cmd := c.Append(folder, int64(len(m.Raw)), &imap.AppendOptions{Time: m.Date, Flags: m.Flags})
		if _, err := cmd.Write([]byte(m.Raw)); err != nil {
			d.t.Fatalf("append: %v", err)
		}
		if err := cmd.Close(); err != nil {
			d.t.Fatalf("append: %v", err)
		}
		cmds = append(cmds, cmd)
	}
	uids := make([]imap.UID, 0, len(cmds))
	for _, cmd := range cmds {
		data, err := cmd.Wait()
		if err != nil {
			d.t.Fatalf("append: %v", err)
		}
		uids = append(uids, data.UID)
	}
	return uids
}

// Message is one mail as a folder holds it.
type Message struct {
	UID   imap.UID
	Flags []imap.Flag
	Raw   []byte
}

// Seen reports whether the message has \Seen.
func (m Message) Seen() bool {
	for _, f := range m.Flags {
		if f == imap.FlagSeen {
			return true
		}
	}
	return false
}

// Messages lists a folder (without touching \Seen); nil when it does not exist.
func (d *Dovecot) Messages(folder string) []Message {
	d.t.Helper()
	c := d.Client()
	defer c.Logout()
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil
	}
	if sel.NumMessages == 0 {
		return []Message{}
	}
	var set imap.SeqSet
	set.AddRange(1, 0)
	bufs, err := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		d.t.Fatalf("fetch %s: %v", folder, err)
	}
	out := make([]Message, 0, len(bufs))
	for _, b := range bufs {
		m := Message{UID: b.UID, Flags: b.Flags}
		if len(b.BodySection) > 0 {
			m.Raw = b.BodySection[0].Bytes
		}
		out = append(out, m)
	}
	return out
}

// UIDValidity returns a folder's UIDVALIDITY.
func (d *Dovecot) UIDValidity(folder string) uint32 {
	d.t.Helper()
	c := d.Client()
	defer c.Logout()
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		d.t.Fatalf("select %s: %v", folder, err)
	}
	return sel.UIDValidity
}

// Delete removes a folder with everything in it.
func (d *Dovecot) Delete(folder string) {
	d.t.Helper()
	c := d.Client()
	defer c.Logout()
	if err := c.Delete(folder).Wait(); err != nil {
		d.t.Fatalf("delete %s: %v", folder, err)
	}
}
