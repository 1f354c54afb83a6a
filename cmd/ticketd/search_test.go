package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestTicketsSearchBinary(t *testing.T) {
	bin := lcBuild(t)
	d := newLCDesk(t)
	d.now = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	printer := d.answered("carla@cliente.example", "La impresora no imprime", "La impresora de la oficina dice «atasco de papel» todo el rato.")
	invoice := d.answered("diego@cliente.example", "Factura duplicada", "Me habéis cobrado dos veces la factura de diciembre.")
	d.deliver("soporte@example.com", []string{"From: carla@cliente.example", "To: soporte@example.com", "Subject: Otra cosa"}, "Y el escáner tampoco funciona.")
	d.close()

	search := func(args ...string) []searchHitJSON {
		t.Helper()
		out, errOut, code := lcRun(t, bin, append([]string{"tickets", "search", "-config", d.cfg, "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("search %v: %d %s", args, code, errOut)
		}
		var hits []searchHitJSON
		if err := json.Unmarshal([]byte(out), &hits); err != nil {
			t.Fatalf("search %v: %v\n%s", args, err, out)
		}
		return hits
	}
	numbers := func(hits []searchHitJSON) []int64 {
		var out []int64
		for _, h := range hits {
			out = append(out, h.Number)
		}
		return out
	}

	// Words in the text, accents ignored, with a snippet.
	hits := search("atasco", "papel")
	if len(hits) != 1 || hits[0].Number != printer || hits[0].Match != "text" || !strings.Contains(hits[0].Snippet, "[atasco]") {
		t.Fatalf("atasco papel: %+v", hits)
	}
	if hits := search("escaner"); len(hits) != 1 || hits[0].Number != 3 {
		t.Fatalf("escaner (accent-free): %v", numbers(hits))
	}
	// Words in the subject; prefixes.
	if hits := search("factur"); len(hits) != 1 || hits[0].Number != invoice {
		t.Fatalf("factur: %v", numbers(hits))
	}
	// By requester, by number, and filtered by status.
	if got := numbers(search("carla@cliente.example")); len(got) != 2 || got[0] != 3 || got[1] != printer {
		t.Fatalf("by requester: %v", got)
	}
	if got := numbers(search("#2")); len(got) != 1 || got[0] != invoice {
		t.Fatalf("by number: %v", got)
	}
	if got := numbers(search("carla@cliente.example", "--status", "nuevo")); len(got) != 1 || got[0] != 3 {
		t.Fatalf("by requester, nuevo: %v", got)
	}
	// FTS syntax in the query is taken as words, never an error.
	if hits := search(`"OR" NEAR(*`); len(hits) != 0 {
		t.Fatalf("odd query: %v", numbers(hits))
	}
	// The table for people.
	out, _, code := lcRun(t, bin, "tickets", "search", "impresora", "-config", d.cfg)
	if code != 0 || !strings.Contains(out, "#1") || !strings.Contains(out, "[impresora]") {
		t.Fatalf("table output (%d):\n%s", code, out)
	}
}
