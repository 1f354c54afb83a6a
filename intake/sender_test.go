package intake

import "testing"

func TestSenderFromHeaders(t *testing.T) {
	for _, c := range []struct{ name, raw, want string }{
		{"From only", "From: Carla Ruiz <carla@cliente.example>\r\nSubject: x\r\n\r\nhola\r\n", "carla@cliente.example"},
		{"Return-Path wins", "Return-Path: <bounces+x@lista.example>\r\nFrom: Carla <carla@cliente.example>\r\n\r\nhola\r\n", "bounces+x@lista.example"},
		{"null Return-Path", "Return-Path: <>\r\nFrom: MAILER-DAEMON <postmaster@mx.example>\r\n\r\nbounce\r\n", ""},
		{"two From addresses", "From: a@x.example, b@x.example\r\n\r\nhola\r\n", "a@x.example"},
		{"no sender at all", "Subject: solo\r\n\r\nhola\r\n", ""},
		{"not a mail", "", ""},
	} {
		if got := SenderFromHeaders([]byte(c.raw)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
