package intake

import (
	"reflect"
	"testing"
)

func TestParseCommands(t *testing.T) {
	cases := []struct {
		name  string
		text  string
		verbs []string
		args  [][]string
		rest  string
		bad   string
	}{
		{"plain answer", "Hola, ya está.", nil, nil, "Hola, ya está.", ""},
		{"close with answer", "#cerrar\n\nHola, ya está.", []string{"close"}, [][]string{{}}, "Hola, ya está.", ""},
		{"english", "#Close\n#priority HIGH\n#tag billing, vip", []string{"close", "priority", "tag"}, [][]string{{}, {"alta"}, {"billing", "vip"}}, "", ""},
		{"spanish", "#prioridad urgente\n#etiqueta facturacion\n#-etiqueta vip\n#asignar <Luis@Example.com>", []string{"priority", "tag", "untag", "assign"},
			[][]string{{"urgente"}, {"facturacion"}, {"vip"}, {"luis@example.com"}}, "", ""},
		{"take, release, note", "#tomar\n#devolver\n#nota\nSolo para el equipo.", []string{"take", "release", "note"}, [][]string{{}, {}, {}}, "Solo para el equipo.", ""},
		{"a later # line is text", "Hola.\n#cerrar", nil, nil, "Hola.\n#cerrar", ""},
		{"a number is not a command", "#1234 ya está resuelto.", nil, nil, "#1234 ya está resuelto.", ""},
		{"unknown", "#cerar\nHola", []string{""}, [][]string{{}}, "Hola", "#cerar"},
		{"bad priority", "#prioridad altísima", []string{"priority"}, [][]string{{"altísima"}}, "", "#prioridad altísima"},
		{"priority missing", "#priority", []string{"priority"}, [][]string{{}}, "", "#priority"},
		{"argument to close", "#close now", []string{"close"}, [][]string{{"now"}}, "", "#close now"},
		{"tag missing", "#etiqueta", []string{"tag"}, [][]string{{}}, "", "#etiqueta"},
	}
	for _, c := range cases {
		p := parseCommands(c.text)
		var verbs []string
		var args [][]string
		for _, cmd := range p.cmds {
			verbs = append(verbs, cmd.verb)
			a := cmd.args
			if a == nil {
				a = []string{}
			}
			args = append(args, a)
		}
		if !reflect.DeepEqual(verbs, c.verbs) || p.rest != c.rest || p.bad != c.bad {
			t.Errorf("%s: verbs %q rest %q bad %q; want %q %q %q", c.name, verbs, p.rest, p.bad, c.verbs, c.rest, c.bad)
			continue
		}
		if c.bad == "" && !reflect.DeepEqual(args, c.args) {
			t.Errorf("%s: args %q, want %q", c.name, args, c.args)
		}
	}
}

func TestCommandReasonsInEveryLanguage(t *testing.T) {
	keys := []string{"unknown", "no_arg", "need_agent", "not_agent", "bad_priority", "need_tag"}
	for _, lang := range []string{"es", "en", "fr", "pt", "it"} {
		for _, k := range keys {
			if commandReasons[lang][k] == "" {
				t.Errorf("%s: no reason %q", lang, k)
			}
		}
	}
	if got := commandReason("es", "not_agent", "pepe@example.com"); got != "pepe@example.com no es agente de este buzón." {
		t.Errorf("not_agent = %q", got)
	}
}
