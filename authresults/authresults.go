// Package authresults reads the Authentication-Results header fields (RFC
// 8601) that a trusted receiving server added to a mail, to tell whether
// the mail's From domain was authenticated by DKIM or SPF. It is pure:
// header values in, a verdict out.
package authresults

import (
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/authres"
	"golang.org/x/net/publicsuffix"
)

// Verify tells whether one of the Authentication-Results fields (values as
// they appear in the header) written under authservID reports dkim=pass
// for a signing domain, or spf=pass for a MAIL FROM domain, aligned with
// the domain of from (the From address): the same organizational domain,
// as DMARC's relaxed alignment. Results under any other authserv-id are
// ignored: anyone can write such a field. When it fails, why says what
// was found, for the sender.
//
// The receiving server must remove fields that claim its authserv-id from
// incoming mail (RFC 8601 §5), as Postfix with OpenDKIM/OpenDMARC, rspamd
// and others do; that is what makes its results trustworthy.
func Verify(fields []string, authservID, from string) (ok bool, why string) {
	fromDomain := ""
	if strings.Contains(from, "@") {
		fromDomain = domainOf(from)
	}
	if fromDomain == "" {
		return false, "the From address has no domain"
	}
	var seen []string
	trusted := 0
	for _, f := range fields {
		id, results, err := authres.Parse(f)
		if err != nil || !strings.EqualFold(id, authservID) {
			continue
		}
		trusted++
		for _, r := range results {
			switch r := r.(type) {
			case *authres.DKIMResult:
				d := r.Domain
				if d == "" {
					d = domainOf(r.Identifier)
				}
				if r.Value == authres.ResultPass && aligned(d, fromDomain) {
					return true, ""
				}
				seen = append(seen, fmt.Sprintf("dkim=%s (%s)", r.Value, orNone(d)))
			case *authres.SPFResult:
				d := domainOf(r.From)
				if r.Value == authres.ResultPass && aligned(d, fromDomain) {
					return true, ""
				}
				seen = append(seen, fmt.Sprintf("spf=%s (%s)", r.Value, orNone(d)))
			}
		}
	}
	if trusted == 0 {
		return false, fmt.Sprintf("no Authentication-Results from %s", authservID)
	}
	if len(seen) == 0 {
		return false, fmt.Sprintf("%s reports neither DKIM nor SPF", authservID)
	}
	return false, fmt.Sprintf("%s reports %s, none a pass aligned with %s", authservID, strings.Join(seen, ", "), fromDomain)
}

// aligned is DMARC's relaxed alignment: both names share their
// organizational domain (the registrable domain of the public suffix list).
func aligned(d, fromDomain string) bool {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	if d == "" {
		return false
	}
	if d == fromDomain {
		return true
	}
	od, err1 := publicsuffix.EffectiveTLDPlusOne(d)
	of, err2 := publicsuffix.EffectiveTLDPlusOne(fromDomain)
	return err1 == nil && err2 == nil && od == of
}

// domainOf is the domain of an address, or the value itself when it is a
// bare domain (smtp.mailfrom may be either).
func domainOf(addr string) string {
	addr = strings.Trim(strings.TrimSpace(addr), "<>")
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		addr = addr[i+1:]
	}
	return strings.TrimSuffix(strings.ToLower(addr), ".")
}

func orNone(d string) string {
	if d == "" {
		return "no domain"
	}
	return d
}
