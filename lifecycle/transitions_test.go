package lifecycle

import "testing"

func TestAfterCustomerReply(t *testing.T) {
	cases := []struct {
		from, want string
		reopened   bool
	}{
		{Nuevo, Nuevo, false},
		{Pendiente, Abierto, false},
		{Abierto, Abierto, false},
		{Cerrado, Abierto, true},
	}
	for _, c := range cases {
		got, re := AfterCustomerReply(c.from)
		if got != c.want || re != c.reopened {
			t.Errorf("AfterCustomerReply(%s) = %s, %v; want %s, %v", c.from, got, re, c.want, c.reopened)
		}
	}
	for _, s := range []string{Nuevo, Pendiente, Abierto, Cerrado} {
		if AfterAgentReply(s) != Pendiente {
			t.Errorf("AfterAgentReply(%s) != pendiente", s)
		}
	}
}
