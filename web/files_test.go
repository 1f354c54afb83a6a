package web

import "testing"

func TestDownloadType(t *testing.T) {
	for stored, want := range map[string]string{
		"image/png":                   "image/png",
		"IMAGE/JPEG":                  "image/jpeg",
		"application/pdf; name=a":     "application/pdf",
		"text/plain; charset=utf-8":   "text/plain; charset=utf-8",
		"text/plain; charset=\"a b\"": "text/plain",
		"text/plain":                  "text/plain",
		"text/html":                   "application/octet-stream",
		"image/svg+xml":               "application/octet-stream",
		"":                            "application/octet-stream",
		"garbage/;;":                  "application/octet-stream",
	} {
		if got := downloadType(stored); got != want {
			t.Errorf("downloadType(%q) = %q, want %q", stored, got, want)
		}
	}
}

func TestSize(t *testing.T) {
	es, fr := allLabels["es"], allLabels["fr"]
	for _, c := range []struct {
		l    *labels
		n    int64
		want string
	}{
		{es, 0, "0\u00a0B"}, {es, 1023, "1023\u00a0B"}, {es, 1024, "1\u00a0KB"}, {es, 1536, "1,5\u00a0KB"},
		{es, 15 << 20, "15\u00a0MB"}, {fr, 3 << 30, "3\u00a0Go"}, {allLabels["en"], 1536, "1.5\u00a0KB"},
	} {
		if got := c.l.size(c.n); got != c.want {
			t.Errorf("size(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestLogPath(t *testing.T) {
	tok := "abcdefghijklmnopqrstuvwx"
	for in, want := range map[string]string{
		"/t/" + tok:                   "/t/abcdef…",
		"/t/" + tok + "/files/12":     "/t/abcdef…/files/12",
		"/t/" + tok + "/files/" + tok: "/t/abcdef…/…",
		"/" + tok:                     "/abcdefghijklmnopqrs…",
		"/healthz":                    "/healthz",
	} {
		if got := logPath(in); got != want {
			t.Errorf("logPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLinkify(t *testing.T) {
	for in, want := range map[string][]segment{
		"sin enlaces":                 {{Text: "sin enlaces"}},
		"vea https://a.example/x.":    {{Text: "vea "}, {Text: "https://a.example/x", URL: "https://a.example/x"}, {Text: "."}},
		"(http://a.example/b_(c)), y": {{Text: "("}, {Text: "http://a.example/b_(c)", URL: "http://a.example/b_(c)"}, {Text: "), y"}},
		"javascript:alert(1)":         {{Text: "javascript:alert(1)"}},
		`https://a.example/"><b>`:     {{Text: "https://a.example/", URL: "https://a.example/"}, {Text: `"><b>`}},
		"https://:80 y ftp://x":       {{Text: "https://:80 y ftp://x"}},
	} {
		got := linkify(in)
		if len(got) != len(want) {
			t.Errorf("linkify(%q) = %+v, want %+v", in, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("linkify(%q) = %+v, want %+v", in, got, want)
				break
			}
		}
	}
}
