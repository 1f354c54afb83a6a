package imapgw

import "testing"

// IMAP has no envelope: the sender comes from Return-Path (which keeps a
// bounce's null sender), else from From.
func TestEnvelopeSender(t *testing.T) {
	for _, tt := range []struct{ name, raw, want string }{
		{"return-path", "Return-Path: <bounces@list.example>\r\nFrom: Ana <ana@example.org>\r\n\r\nx", "bounces@list.example"},
		{"null sender", "Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example\r\n\r\nx", ""},
		{"from only", "From: Ana <ana@example.org>\r\nSubject: hola\r\n\r\nx", "ana@example.org"},
		{"unreadable from", "From: not an address\r\n\r\nx", ""},
		{"not a mail", "just words", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := envelopeSender([]byte(tt.raw)); got != tt.want {
				t.Errorf("envelopeSender = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMoveTarget(t *testing.T) {
	for after, want := range map[string]string{"move:Done": "Done", "move:": "", "seen": "", "delete": ""} {
		if got := moveTarget(after); got != want {
			t.Errorf("moveTarget(%q) = %q, want %q", after, got, want)
		}
	}
}
