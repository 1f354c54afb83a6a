package message

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// tnefStream builds a TNEF container ([MS-OXTNEF] 2.1.3) from records.
type tnefStream []byte

func newTNEF() tnefStream {
	b := binary.LittleEndian.AppendUint32(nil, tnefSignature)
	return append(b, 0x01, 0x00) // legacy key
}

func (s tnefStream) record(id uint32, data []byte) tnefStream {
	s = append(s, 0x02) // attachment level
	s = binary.LittleEndian.AppendUint32(s, id)
	s = binary.LittleEndian.AppendUint32(s, uint32(len(data)))
	s = append(s, data...)
	var sum uint16
	for _, c := range data {
		sum += uint16(c)
	}
	return binary.LittleEndian.AppendUint16(s, sum)
}

func (s tnefStream) file(name, content string) tnefStream {
	return s.record(attAttachRendData, make([]byte, 14)).
		record(attAttachTitle, []byte(name+"\x00")).
		record(attAttachData, []byte(content))
}

func winmail(stream []byte) []Part {
	return []Part{{Filename: "winmail.dat", ContentType: "application/ms-tnef", Content: stream}}
}

// The TNEF: 60,000 empty records became 60,000 attachments. Now
// they are no files at all, reading stops at the record bound, and the
// container stays as the one attachment, so nothing is lost.
func TestTNEFOfEmptyRecordsIsNotAmplified(t *testing.T) {
	s := newTNEF()
	for range 60000 {
		s = s.record(attAttachRendData, nil)
	}
	out, problems := unpackTNEF(winmail(s))
	if len(out) != 1 || out[0].Filename != "winmail.dat" {
		t.Fatalf("60,000 empty records gave %d attachments", len(out))
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "more than 5000 records") {
		t.Fatalf("problems %q", problems)
	}
}

func TestTNEFFilesAreCapped(t *testing.T) {
	s := newTNEF()
	for i := range MaxTNEFFiles + 50 {
		s = s.file(fmt.Sprintf("f%03d.txt", i), "contenido")
	}
	out, problems := unpackTNEF(winmail(s))
	// The first files, then the container holding all of them.
	if len(out) != MaxTNEFFiles+1 || out[0].Filename != "f000.txt" || out[MaxTNEFFiles-1].Filename != fmt.Sprintf("f%03d.txt", MaxTNEFFiles-1) {
		t.Fatalf("%d attachments, first %q", len(out), out[0].Filename)
	}
	if !strings.EqualFold(out[0].Filename, "f000.txt") || string(out[0].Content) != "contenido" {
		t.Fatalf("first file %+v", out[0])
	}
	found := false
	for _, p := range out {
		found = found || p.Filename == "winmail.dat"
	}
	if !found || len(problems) != 1 {
		t.Fatalf("container kept %v, problems %q", found, problems)
	}
	// Within the bounds nothing changes: the files, no container.
	out, problems = unpackTNEF(winmail(newTNEF().file("a.txt", "a").file("b.pdf", "b")))
	if len(out) != 2 || out[0].Filename != "a.txt" || out[1].ContentType != "application/pdf" || len(problems) != 0 {
		t.Fatalf("small TNEF: %+v %q", out, problems)
	}
}
