package authresults

import (
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	const id = "mx.example.com"
	for _, tc := range []struct {
		name   string
		fields []string
		from   string
		ok     bool
		why    string
	}{
		{"dkim pass aligned", []string{"mx.example.com; dkim=pass header.d=example.com header.s=s1; spf=fail smtp.mailfrom=example.com"}, "ana@example.com", true, ""},
		{"dkim pass from a subdomain (relaxed)", []string{"mx.example.com; dkim=pass header.d=mail.example.com"}, "ana@example.com", true, ""},
		{"spf pass aligned", []string{"mx.example.com; spf=pass smtp.mailfrom=ana@example.com; dkim=none"}, "ana@example.com", true, ""},
		{"dkim pass only through header.i", []string{"mx.example.com; dkim=pass header.i=@example.com"}, "ana@example.com", true, ""},
		{"version after the id", []string{"mx.example.com 1; dkim=pass header.d=example.com"}, "ana@example.com", true, ""},
		{"id case", []string{"MX.Example.COM; spf=pass smtp.mailfrom=example.com"}, "Ana@Example.com", true, ""},
		{"dkim pass, not aligned", []string{"mx.example.com; dkim=pass header.d=mailer.example.net; spf=pass smtp.mailfrom=bounce.example.net"}, "ana@example.com", false, "dkim=pass (mailer.example.net), spf=pass (bounce.example.net), none a pass aligned with example.com"},
		{"a sibling under a public suffix is not aligned", []string{"mx.example.com; dkim=pass header.d=other.co.uk"}, "ana@example.co.uk", false, "none a pass"},
		{"fail", []string{"mx.example.com; dkim=fail header.d=example.com; spf=softfail smtp.mailfrom=example.com"}, "ana@example.com", false, "dkim=fail (example.com), spf=softfail (example.com)"},
		{"pass under another id is ignored", []string{"evil.example; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=example.com"}, "ana@example.com", false, "no Authentication-Results from mx.example.com"},
		{"the trusted id's verdict counts, not the other's", []string{"evil.example; dkim=pass header.d=example.com", "mx.example.com; dkim=fail header.d=example.com"}, "ana@example.com", false, "dkim=fail"},
		{"no field at all", nil, "ana@example.com", false, "no Authentication-Results"},
		{"only other methods", []string{"mx.example.com; iprev=pass policy.iprev=192.0.2.1"}, "ana@example.com", false, "neither DKIM nor SPF"},
		{"unparseable field", []string{"mx.example.com; dkim"}, "ana@example.com", false, "no Authentication-Results"},
		{"no From domain", []string{"mx.example.com; dkim=pass header.d=example.com"}, "ana", false, "no domain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := Verify(tc.fields, id, tc.from)
			if ok != tc.ok || !strings.Contains(why, tc.why) {
				t.Fatalf("Verify = %v %q, want %v %q", ok, why, tc.ok, tc.why)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("mx.example.com; dkim=pass header.d=example.com", "ana@example.com")
	f.Add("mx.example.com 1; spf=pass smtp.mailfrom=<>; dkim=neutral (bad) header.i=@x", "a@b")
	f.Fuzz(func(t *testing.T, field, from string) {
		ok, why := Verify([]string{field}, "mx.example.com", from)
		if ok == (why != "") {
			t.Fatalf("ok=%v with why %q", ok, why)
		}
	})
}
