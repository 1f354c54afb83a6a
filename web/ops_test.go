package web_test

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"strings"
	"testing"
	"time"
)

// Times on the page say their time zone: a customer elsewhere must not
// take Madrid's 00:30 for their own.
func TestTimesShowTheirZone(t *testing.T) {
	e := newEnv(t, "")
	winter, _ := e.add(ticket{Subject: "S", Created: time.Date(2026, 11, 25, 23, 30, 0, 0, time.UTC), Msgs: []msg{customer("x")}})
	mustContain(t, e.page(winter), "26 de noviembre de 2026, 00:30 CET")
	summer, _ := e.add(ticket{Subject: "S", Created: time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC), Msgs: []msg{customer("x")}})
	mustContain(t, e.page(summer), "1 de julio de 2026, 10:00 CEST")

	// A zone without a letter abbreviation shows its offset.
	e2 := newEnv(t, strings.Replace(testConfig, `time_zone = "Europe/Madrid"`, `time_zone = "America/Sao_Paulo"`, 1))
	tok, _ := e2.add(ticket{Subject: "S", Created: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Msgs: []msg{customer("x")}})
	mustContain(t, e2.page(tok), "25 de noviembre de 2026, 09:00 UTC-03:00")
}

// /favicon.ico is an icon, not one 404 per page view in the log.
func TestFavicon(t *testing.T) {
	e := newEnv(t, "")
	r := e.get("/favicon.ico")
	if r.Code != 200 || r.Header.Get("Content-Type") != "image/x-icon" || r.Header.Get("Cache-Control") == "" {
		t.Fatalf("favicon: %d %v", r.Code, r.Header)
	}
	b := []byte(r.Body)
	var dir [3]uint16
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, &dir); err != nil || dir != [3]uint16{0, 1, 1} {
		t.Fatalf("not an ICO with one image: %v %v", dir, err)
	}
	size := binary.LittleEndian.Uint32(b[14:18])
	offset := binary.LittleEndian.Uint32(b[18:22])
	if int(offset+size) != len(b) {
		t.Fatalf("ICO entry: size %d offset %d, file %d bytes", size, offset, len(b))
	}
	img, err := png.Decode(bytes.NewReader(b[offset:]))
	if err != nil || img.Bounds().Dx() != int(b[6]) || img.Bounds().Dy() != 32 {
		t.Fatalf("ICO image: %v %v", img, err)
	}
	if !strings.Contains(e.log.String(), "route=favicon") || strings.Contains(e.log.String(), "status=404") {
		t.Fatalf("access log: %s", e.log.String())
	}
}
