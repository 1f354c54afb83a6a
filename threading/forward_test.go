package threading

import "testing"

func TestParseForward(t *testing.T) {
	for _, c := range []struct {
		name, text                     string
		above, name2, addr, subj, body string
	}{
		{"gmail", "Abro esto para ella.\n\n---------- Forwarded message ---------\nFrom: Carla Ruiz <carla@cliente.example>\nDate: Mon, 2 Nov 2026 at 09:00\nSubject: No puedo entrar\nTo: <ana@example.com>\n\n\nHola, no puedo entrar.\n",
			"Abro esto para ella.", "Carla Ruiz", "carla@cliente.example", "No puedo entrar", "Hola, no puedo entrar."},
		{"gmail es bold", "---------- Mensaje reenviado ---------\nDe: *Carla Ruiz* <carla@cliente.example>\nDate: lun, 2 nov 2026 a las 9:00\nSubject: Factura\nTo: <ana@example.com>\n\nDos cobros.",
			"", "Carla Ruiz", "carla@cliente.example", "Factura", "Dos cobros."},
		{"outlook", "Por favor, mirad esto.\n\n________________________________\nFrom: Carla Ruiz <carla@cliente.example>\nSent: Monday, November 2, 2026 9:00 AM\nTo: Ana Pérez <ana@example.com>\nSubject: No puedo entrar\n\nHola.\n",
			"Por favor, mirad esto.", "Carla Ruiz", "carla@cliente.example", "No puedo entrar", "Hola."},
		{"outlook es mailto", "Mirad.\n\nDe: Carla Ruiz [mailto:Carla@Cliente.example]\nEnviado el: lunes, 2 de noviembre de 2026 9:00\nPara: Ana Pérez\nAsunto: Cobro\n\nHola.",
			"Mirad.", "Carla Ruiz", "carla@cliente.example", "Cobro", "Hola."},
		{"apple", "Nota para el equipo.\n\nBegin forwarded message:\n\nFrom: Carla Ruiz <carla@cliente.example>\nSubject: No puedo entrar\nDate: 2 November 2026 at 09:00:00 CET\nTo: ana@example.com\n\nHola, Ana.",
			"Nota para el equipo.", "Carla Ruiz", "carla@cliente.example", "No puedo entrar", "Hola, Ana."},
		{"thunderbird", "\n\n-------- Forwarded Message --------\nSubject: \tNo puedo entrar\nDate: \tMon, 2 Nov 2026 09:00:00 +0100\nFrom: \tCarla Ruiz <carla@cliente.example>\nTo: \tana@example.com\n\nHola.",
			"", "Carla Ruiz", "carla@cliente.example", "No puedo entrar", "Hola."},
		{"thunderbird es", "Ojo.\n\n-------- Mensaje reenviado --------\nAsunto: \tCobro\nFecha: \tMon, 2 Nov 2026 09:00:00 +0100\nDe: \tcarla@cliente.example\nPara: \tana@example.com\n\nHola.",
			"Ojo.", "", "carla@cliente.example", "Cobro", "Hola."},
	} {
		fw, ok := ParseForward(c.text)
		if !ok {
			t.Errorf("%s: no forward found", c.name)
			continue
		}
		if fw.Above != c.above || fw.FromName != c.name2 || fw.FromAddr != c.addr || fw.Subject != c.subj || fw.Text != c.body {
			t.Errorf("%s: %+v", c.name, fw)
		}
	}
	for _, text := range []string{
		"Hola, ¿me ayudáis con esto?\nGracias.",
		"From: the start of a sentence is not a header.\n",
		"On Mon, Carla wrote:\n> hola\n",
	} {
		if fw, ok := ParseForward(text); ok {
			t.Errorf("%q taken as a forward: %+v", text, fw)
		}
	}
}
