package message

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"mime"
	"path/filepath"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Outlook sometimes wraps a mail's attachments in a TNEF stream
// (winmail.dat, application/ms-tnef) that no other client can open. Agents
// and customers must see the files inside, so Parse unpacks them. No Go
// module for TNEF can be had from the module proxy here, hence this
// minimal reader of the documented format ([MS-OXTNEF] 2.1.3): only what
// is needed to get each attachment's title and bytes.

const tnefSignature = 0x223E9F78

// TNEF attribute ids (type in the high word, id in the low word).
const (
	attAttachRendData = 0x00069002 // starts a new attachment
	attAttachTitle    = 0x00018010 // its file name
	attAttachData     = 0x0006800F // its bytes
	attAttachment     = 0x00069005 // its MAPI properties (long name, bytes)
	attOemCodepage    = 0x00069007 // the code page of 8-bit strings
)

// MAPI property ids and types used for attachments.
const (
	prAttachDataBin      = 0x3701
	prAttachLongFilename = 0x3707
	ptString8            = 0x001E
	ptUnicode            = 0x001F
	ptBinary             = 0x0102
	ptObject             = 0x000D
	mvFlag               = 0x1000
)

type tnefFile struct {
	name string
	data []byte
}

var errNotTNEF = errors.New("not a TNEF stream")

// isTNEF tells whether a part is a TNEF container by its type or name.
func isTNEF(contentType, filename string) bool {
	ct := strings.ToLower(contentType)
	return ct == "application/ms-tnef" || ct == "application/vnd.ms-tnef" || strings.EqualFold(filename, "winmail.dat")
}

// readTNEF returns the attachments in a TNEF stream, in order.
func readTNEF(b []byte) ([]tnefFile, error) {
	if len(b) < 6 || binary.LittleEndian.Uint32(b) != tnefSignature {
		return nil, errNotTNEF
	}
	b = b[6:] // signature and legacy key
	var files []tnefFile
	codepage := uint32(0)
	for records := 0; len(b) > 0; records++ {
		if records >= MaxTNEFRecords || len(files) > MaxTNEFFiles {
			return files[:min(len(files), MaxTNEFFiles)], errTNEFTooLarge
		}
		// level (1 byte), attribute id, length, data, checksum (2 bytes)
		if len(b) < 9 {
			return files, errors.New("TNEF stream cut short")
		}
		id := binary.LittleEndian.Uint32(b[1:])
		n := binary.LittleEndian.Uint32(b[5:])
		if uint64(n)+11 > uint64(len(b)) {
			return files, errors.New("TNEF attribute longer than the stream")
		}
		data := b[9 : 9+n]
		b = b[9+n+2:]
		switch id {
		case attOemCodepage:
			if len(data) >= 4 {
				codepage = binary.LittleEndian.Uint32(data)
			}
		case attAttachRendData:
			files = append(files, tnefFile{})
		case attAttachTitle:
			if len(files) > 0 {
				files[len(files)-1].name = decodeString8(bytes.TrimRight(data, "\x00"), codepage)
			}
		case attAttachData:
			if len(files) > 0 {
				files[len(files)-1].data = data
			}
		case attAttachment:
			if len(files) > 0 {
				f := &files[len(files)-1]
				name, bin, err := attachProps(data, codepage)
				if err != nil {
					return files, err
				}
				if name != "" {
					f.name = name
				}
				if bin != nil && len(f.data) == 0 {
					f.data = bin
				}
			}
		}
	}
	return files, nil
}

// unpackTNEF replaces each TNEF container among parts with the files in
// it; a container that cannot be read stays as it was.
func unpackTNEF(parts []Part) (out []Part, problems []string) {
	for _, p := range parts {
		if !isTNEF(p.ContentType, p.Filename) {
			out = append(out, p)
			continue
		}
		files, err := readTNEF(p.Content)
		files = withContent(files)
		if room := MaxParts - len(out); len(files) > room {
			files, err = files[:max(room, 0)], errTNEFTooLarge
		}
		if err != nil {
			problems = append(problems, p.Filename+": "+err.Error())
		}
		if (err != nil && !errors.Is(err, errTNEFTooLarge)) || len(files) == 0 {
			out = append(out, p)
			continue
		}
		for _, f := range files {
			name := f.name
			if name == "" {
				name = "Untitled Attachment"
			}
			ct := mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
			if ct == "" {
				ct = "application/octet-stream"
			}
			out = append(out, Part{Filename: name, ContentType: ct, Content: f.data})
		}
		if err != nil {
			out = append(out, p) // the files past the bounds are only in it
		}
	}
	for i := range out {
		out[i].Index = i
	}
	return out, problems
}

// attachProps reads an attachment's MAPI property list ([MS-OXTNEF]
// 2.1.3.5) for its long file name and its bytes.
func attachProps(b []byte, codepage uint32) (name string, data []byte, err error) {
	r := &leReader{b: b}
	count := r.u32()
	for i := uint32(0); i < count && r.err == nil; i++ {
		typ, id := r.u16(), r.u16()
		if id >= 0x8000 { // named property: GUID, kind, then an id or a name
			r.skip(16)
			if r.u32() == 0 {
				r.skip(4)
			} else {
				r.skip(pad4(int(r.u32())))
			}
		}
		base, multi := typ&^mvFlag, typ&mvFlag != 0
		switch base {
		case ptString8, ptUnicode, ptBinary, ptObject:
			n := r.u32()
			for k := uint32(0); k < n && r.err == nil; k++ {
				v := r.bytes(int(r.u32()))
				switch {
				case id == prAttachLongFilename && base == ptString8:
					name = decodeString8(bytes.TrimRight(v, "\x00"), codepage)
				case id == prAttachLongFilename && base == ptUnicode:
					name = utf16String(v)
				case id == prAttachDataBin:
					data = v
				}
			}
		default:
			size, ok := fixedSize[base]
			if !ok {
				return name, data, fmt.Errorf("TNEF property type %#x not understood", base)
			}
			n := uint32(1)
			if multi {
				n = r.u32()
			}
			for k := uint32(0); k < n && r.err == nil; k++ {
				r.skip(size)
			}
		}
	}
	return name, data, r.err
}

// fixedSize is the padded size of each fixed-length MAPI type.
var fixedSize = map[uint16]int{
	0x0001: 4, 0x0002: 4, 0x0003: 4, 0x0004: 4, 0x0005: 8, 0x0006: 8, 0x0007: 8,
	0x000A: 4, 0x000B: 4, 0x0014: 8, 0x0040: 8, 0x0048: 16,
}

func pad4(n int) int { return (n + 3) &^ 3 }

func utf16String(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		if c := binary.LittleEndian.Uint16(b[i:]); c != 0 {
			u = append(u, c)
		}
	}
	return string(utf16.Decode(u))
}

// leReader reads little-endian values and remembers the first overrun.
type leReader struct {
	b   []byte
	err error
}

func (r *leReader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		if r.err == nil {
			r.err = errors.New("TNEF property list cut short")
		}
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *leReader) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}

func (r *leReader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (r *leReader) skip(n int) { r.take(n) }

// bytes reads a value of n bytes and its padding to a multiple of four.
func (r *leReader) bytes(n int) []byte {
	v := r.take(n)
	r.take(pad4(n) - n)
	return v
}

// decodeString8 reads an 8-bit TNEF string in the stream's code page
// (Outlook writes file names in the sender's Windows code page).
func decodeString8(b []byte, codepage uint32) string {
	if utf8.Valid(b) {
		return string(b) // ASCII, or already UTF-8 (code page 65001)
	}
	enc, ok := codepages[codepage]
	if !ok {
		enc = charmap.Windows1252 // Western Europe, the common case
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// codepages are the Windows and DOS code pages Outlook writes names in.
var codepages = map[uint32]*charmap.Charmap{
	437: charmap.CodePage437, 850: charmap.CodePage850, 866: charmap.CodePage866,
	1250: charmap.Windows1250, 1251: charmap.Windows1251, 1252: charmap.Windows1252,
	1253: charmap.Windows1253, 1254: charmap.Windows1254, 1255: charmap.Windows1255,
	1256: charmap.Windows1256, 1257: charmap.Windows1257, 1258: charmap.Windows1258,
}
