package web

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The status page bounds every phase of a request, so slow or idle
// clients cannot hold connections (and file descriptors) for ever.
func TestStatusPageTimeouts(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	s, err := Listen("127.0.0.1:0", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The production values: every one set.
	if s.srv.ReadHeaderTimeout <= 0 || s.srv.ReadTimeout <= 0 || s.srv.WriteTimeout <= 0 || s.srv.IdleTimeout <= 0 {
		t.Fatalf("timeouts: header %v read %v write %v idle %v", s.srv.ReadHeaderTimeout, s.srv.ReadTimeout, s.srv.WriteTimeout, s.srv.IdleTimeout)
	}
	// Shortened here so the test need not wait ten seconds.
	s.srv.ReadHeaderTimeout, s.srv.IdleTimeout = 200*time.Millisecond, 300*time.Millisecond
	go s.Serve()
	defer s.Shutdown(t.Context())

	// A slowloris: the request line and one header, then nothing.
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("slow header not cut: %v", err)
	}

	// An idle keep-alive connection is closed after a request.
	k, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	io.WriteString(k, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(k)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("body %q", body)
	}
	k.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle keep-alive connection not closed: %v", err)
	}
}
