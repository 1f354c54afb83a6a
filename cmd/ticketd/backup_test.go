package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

// backup --to DIR, run while serve takes mail, writes a copy that serve
// then runs on as its data_dir: every ticket in it whole (with its
// message), the reply key the same, the database checked.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cfgText := strings.Replace(daemontest.BaseConfig(dir), `listen = "127.0.0.1:0"`, fmt.Sprintf(`listen = "127.0.0.1:%d"`, port), 1)
	_, cfg := writeConfig(t, cfgText)
	serve := exec.Command(ticketdBinary(t), "serve", "-config", cfg)
	var logs syncBuffer
	serve.Stderr = &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { serve.Process.Kill(); serve.Wait() }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitFor(t, "SMTP listener", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	// Mail keeps arriving during the backup.
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := daemontest.SendSMTP(addr, "carla@cliente.example", []string{"soporte@example.com"},
				fmt.Sprintf("From: carla@cliente.example\r\nSubject: Pedido %d\r\nMessage-ID: <p%d@cliente.example>\r\n\r\nTexto del pedido %d\r\n", i, i, i)); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
			sent.Add(1)
		}
	}()
	waitFor(t, "some mail before the backup", func() bool { return sent.Load() >= 5 })
	backup := filepath.Join(t.TempDir(), "backup")
	r := runBin(t, "", nil, "backup", "--to", backup, "-config", cfg)
	close(stop)
	wg.Wait()
	if r.code != 0 || !strings.Contains(r.stdout, "ok (") {
		t.Fatalf("backup: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	serve.Process.Signal(syscall.SIGTERM)
	serve.Wait()

	orig, _ := os.ReadFile(filepath.Join(dir, "data", "reply.key"))
	copied, err := os.ReadFile(filepath.Join(backup, "reply.key"))
	if err != nil || !bytes.Equal(orig, copied) || len(orig) == 0 {
		t.Fatalf("reply key not copied: %v", err)
	}
	if r := runBin(t, "", nil, "backup", "--to", backup, "-config", cfg); r.code != 64 || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("backup into a used directory: %d %q", r.code, r.stderr)
	}

	// serve runs on the copy as it is.
	port2 := freePort(t)
	bcfgText := strings.Replace(strings.Replace(cfgText, filepath.Join(dir, "data"), backup, 1), fmt.Sprintf(":%d", port), fmt.Sprintf(":%d", port2), 1)
	_, bcfg := writeConfig(t, bcfgText)
	r = runBin(t, "", nil, "tickets", "list", "--json", "-config", bcfg)
	var list []ticketJSON
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) < 5 {
		t.Fatalf("tickets in the backup: %d %v %s", len(list), err, r.stderr)
	}
	for _, tk := range list {
		j := lcShow(t, ticketdBinary(t), bcfg, tk.Number)
		if len(j.Messages) != 1 || !strings.Contains(j.Messages[0].Text, "Texto del pedido") || len(j.Events) == 0 {
			t.Fatalf("ticket #%d in the backup is not whole: %+v", tk.Number, j)
		}
	}
	serve2 := exec.Command(ticketdBinary(t), "serve", "-config", bcfg)
	var logs2 syncBuffer
	serve2.Stderr = &logs2
	if err := serve2.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { serve2.Process.Kill(); serve2.Wait() }()
	addr2 := fmt.Sprintf("127.0.0.1:%d", port2)
	waitFor(t, "serve on the backup", func() bool {
		c, err := net.Dial("tcp", addr2)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if err := daemontest.SendSMTP(addr2, "pedro@cliente.example", []string{"soporte@example.com"}, "From: pedro@cliente.example\r\nSubject: Tras restaurar\r\n\r\nhola\r\n"); err != nil {
		t.Fatalf("mail into the restored daemon: %v", err)
	}
	if strings.Contains(logs2.String(), "created a new reply key") {
		t.Fatal("serve on the backup made a new key")
	}
}
