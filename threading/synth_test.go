package threading

import (
	"strings"
	"testing"
)

// A megabyte of ordinary prose with quote levels and attribution-like
// lines mixed in: the cost must grow linearly with the size.
func BenchmarkCutQuoteSynthetic1MB(b *testing.B) {
	var sb strings.Builder
	for sb.Len() < 1<<20 {
		sb.WriteString("Hello, on 3 March 2024 I wrote to you about invoice 44 <ana@example.com>\n")
		sb.WriteString("> On Mon, Feb 1, 2016 at 4:58 AM, Soporte <soporte@example.com>\n")
		sb.WriteString("From: someone 2016 < wrote\n\n")
	}
	text := sb.String()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		CutQuote(text)
	}
}
