package intake

import (
	"bytes"
	"net/mail"
	"strings"
)

// SenderFromHeaders is the envelope sender of a mail whose transport did
// not say (inject without -from): the Return-Path that final delivery
// added ("<>" is the null sender), else the From address. A mail with
// neither gives "", the null sender: with nobody to answer, nobody is.
func SenderFromHeaders(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	if rp, ok := m.Header["Return-Path"]; ok && len(rp) > 0 {
		v := strings.TrimSpace(rp[0])
		v = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">"))
		return v
	}
	if a, err := mail.ParseAddress(m.Header.Get("From")); err == nil {
		return a.Address
	}
	if as, err := mail.ParseAddressList(m.Header.Get("From")); err == nil && len(as) > 0 {
		return as[0].Address
	}
	return ""
}
