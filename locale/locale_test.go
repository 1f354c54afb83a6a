package locale

import (
	"strings"
	"testing"
	"time"
)

func TestSupported(t *testing.T) {
	for _, l := range Languages {
		if !Supported(l) {
			t.Errorf("Supported(%q) = false", l)
		}
	}
	for _, l := range []string{"", "de", "EN", "es-ES"} {
		if Supported(l) {
			t.Errorf("Supported(%q) = true", l)
		}
	}
}

func TestFormatDate(t *testing.T) {
	nov25 := time.Date(2026, time.November, 25, 14, 5, 0, 0, time.UTC)
	nov1 := time.Date(2026, time.November, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		t    time.Time
		lang string
		want string
	}{
		{nov25, "es", "25 de noviembre de 2026"},
		{nov25, "en", "25 November 2026"},
		{nov25, "fr", "25 novembre 2026"},
		{nov25, "pt", "25 de novembro de 2026"},
		{nov25, "it", "25 novembre 2026"},
		{nov1, "es", "1 de noviembre de 2026"},
		{nov1, "en", "1 November 2026"},
		{nov1, "fr", "1er novembre 2026"},
		{nov1, "pt", "1º de novembro de 2026"},
		{nov1, "it", "1º novembre 2026"},
		{nov25, "de", "25 November 2026"}, // unknown falls back to English
		{nov25, "", "25 November 2026"},
	}
	for _, tt := range tests {
		if got := FormatDate(tt.t, tt.lang, nil); got != tt.want {
			t.Errorf("FormatDate(%v, %q) = %q, want %q", tt.t, tt.lang, got, tt.want)
		}
	}
}

func TestFormatDateUsesLocation(t *testing.T) {
	// 23:30 UTC on 30 November is already 1 December in Madrid (UTC+1).
	utc := time.Date(2026, time.November, 30, 23, 30, 0, 0, time.UTC)
	madrid := time.FixedZone("CET", 3600)
	if got, want := FormatDate(utc, "fr", madrid), "1er décembre 2026"; got != want {
		t.Errorf("FormatDate in CET = %q, want %q", got, want)
	}
	if got, want := FormatDate(utc, "fr", nil), "30 novembre 2026"; got != want {
		t.Errorf("FormatDate in UTC = %q, want %q", got, want)
	}
	if got, want := FormatDateTime(utc, "es", madrid), "1 de diciembre de 2026, 00:30"; got != want {
		t.Errorf("FormatDateTime = %q, want %q", got, want)
	}
}

func TestFormatDateTime(t *testing.T) {
	tm := time.Date(2026, time.November, 25, 14, 5, 0, 0, time.UTC)
	want := map[string]string{
		"es": "25 de noviembre de 2026, 14:05",
		"en": "25 November 2026, 14:05",
		"fr": "25 novembre 2026 à 14:05",
		"pt": "25 de novembro de 2026, 14:05",
		"it": "25 novembre 2026, 14:05",
	}
	for lang, w := range want {
		if got := FormatDateTime(tm, lang, nil); got != w {
			t.Errorf("FormatDateTime(%q) = %q, want %q", lang, got, w)
		}
	}
}

func TestOnDate(t *testing.T) {
	tests := []struct {
		day  int
		lang string
		want string
	}{
		{25, "es", "el 25 de noviembre de 2026"},
		{25, "en", "on 25 November 2026"},
		{1, "fr", "le 1er novembre 2026"},
		{25, "pt", "em 25 de novembro de 2026"},
		{25, "it", "il 25 novembre 2026"},
		{8, "it", "l'8 novembre 2026"},
		{11, "it", "l'11 novembre 2026"},
		{1, "it", "il 1º novembre 2026"},
	}
	for _, tt := range tests {
		tm := time.Date(2026, time.November, tt.day, 12, 0, 0, 0, time.UTC)
		if got := OnDate(tm, tt.lang, nil); got != tt.want {
			t.Errorf("OnDate(%d, %q) = %q, want %q", tt.day, tt.lang, got, tt.want)
		}
	}
}

func TestStatusName(t *testing.T) {
	want := map[string][4]string{ // nuevo, pendiente, abierto, cerrado
		"es": {"Nuevo", "Pendiente", "Abierto", "Cerrado"},
		"en": {"New", "Pending", "Open", "Closed"},
		"fr": {"Nouveau", "En attente", "Ouvert", "Fermé"},
		"pt": {"Novo", "Pendente", "Aberto", "Fechado"},
		"it": {"Nuovo", "In attesa", "Aperto", "Chiuso"},
	}
	keys := [4]string{StatusNew, StatusPending, StatusOpen, StatusClosed}
	for _, lang := range Languages {
		for i, k := range keys {
			if got := StatusName(k, lang); got != want[lang][i] {
				t.Errorf("StatusName(%q, %q) = %q, want %q", k, lang, got, want[lang][i])
			}
		}
	}
	if got := StatusName("cerrado", "xx"); got != "Closed" {
		t.Errorf("unknown language: got %q, want English", got)
	}
	if got := StatusName("archivado", "es"); got != "archivado" {
		t.Errorf("unknown status: got %q, want the key", got)
	}
}

func TestStatusMeaning(t *testing.T) {
	closeDate := time.Date(2026, time.November, 25, 10, 0, 0, 0, time.UTC)
	dateIn := map[string]string{
		"es": "25 de noviembre de 2026",
		"en": "25 November 2026",
		"fr": "25 novembre 2026",
		"pt": "25 de novembro de 2026",
		"it": "25 novembre 2026",
	}
	for _, lang := range Languages {
		seen := map[string]bool{}
		for _, st := range []string{StatusNew, StatusPending, StatusOpen, StatusClosed} {
			m := StatusMeaning(st, lang, closeDate, nil)
			if m == "" || !strings.HasSuffix(m, ".") {
				t.Errorf("StatusMeaning(%q, %q) = %q, want one full sentence", st, lang, m)
			}
			if strings.Count(m, ". ") > 0 {
				t.Errorf("StatusMeaning(%q, %q) = %q, want a single sentence", st, lang, m)
			}
			if seen[m] {
				t.Errorf("StatusMeaning(%q, %q) repeats another status", st, lang)
			}
			seen[m] = true
			hasDate := strings.Contains(m, dateIn[lang])
			if hasDate != (st == StatusPending) {
				t.Errorf("StatusMeaning(%q, %q) = %q: close date shown = %v", st, lang, m, hasDate)
			}
		}
		// Without a close date, pending says no date at all.
		m := StatusMeaning(StatusPending, lang, time.Time{}, nil)
		if m == "" || strings.Contains(m, "2026") || strings.Contains(m, "0001") {
			t.Errorf("StatusMeaning(pendiente, %q, zero) = %q", lang, m)
		}
	}
	got := StatusMeaning(StatusPending, "en", closeDate, nil)
	want := "We answered and are waiting for your reply; this request will close on 25 November 2026 if we don't hear from you."
	if got != want {
		t.Errorf("en pending:\n got %q\nwant %q", got, want)
	}
	if got := StatusMeaning("archivado", "es", closeDate, nil); got != "" {
		t.Errorf("unknown status: got %q, want empty", got)
	}
}

func TestPriorityName(t *testing.T) {
	want := map[string][4]string{
		"es": {"Baja", "Media", "Alta", "Urgente"},
		"en": {"Low", "Normal", "High", "Urgent"},
		"fr": {"Basse", "Normale", "Haute", "Urgente"},
		"pt": {"Baixa", "Média", "Alta", "Urgente"},
		"it": {"Bassa", "Media", "Alta", "Urgente"},
	}
	keys := [4]string{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}
	for _, lang := range Languages {
		for i, k := range keys {
			if got := PriorityName(k, lang); got != want[lang][i] {
				t.Errorf("PriorityName(%q, %q) = %q, want %q", k, lang, got, want[lang][i])
			}
		}
	}
}
