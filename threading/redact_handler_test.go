package threading

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRedactingHandlerRemovesTokensEverywhere(t *testing.T) {
	tok := NewToken()
	addr := "soporte+" + tok + "-a-abcdefgh@example.com"
	msgid := "tkd." + tok + ".xyz@example.com"
	var buf bytes.Buffer
	log := slog.New(NewRedactingHandler(slog.NewTextHandler(&buf, nil)))
	log = log.With("bound", addr)
	log.Info("mail to "+addr, "rcpt", addr, "err", errors.New("550 "+addr+" unknown"),
		"ids", []string{msgid}, slog.Group("env", "from", addr), "ticket", []int64{7}, "n", 3)
	out := buf.String()
	if strings.Contains(out, tok) {
		t.Fatalf("token left in log line: %s", out)
	}
	for _, want := range []string{"soporte+…@example.com", "tkd.…@example.com", "ticket=[7]", "n=3", "env.from="} {
		if !strings.Contains(out, want) {
			t.Errorf("log line lacks %q: %s", want, out)
		}
	}
}
