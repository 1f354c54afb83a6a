package threading

import (
	"strings"
	"testing"
)

// proseMail is about 10 KB of ordinary prose without quotes, the most
// common thing CutQuote sees at intake.
func proseMail() string {
	var sb strings.Builder
	for sb.Len() < 10<<10 {
		sb.WriteString("Hola, les escribo porque desde ayer la aplicación no me deja entrar en mi cuenta.\n")
	}
	return sb.String()
}

// replyMail is a typical reply: a short answer, a Gmail attribution and
// 100 quoted lines.
func replyMail() string {
	var sb strings.Builder
	sb.WriteString("Hola,\n\nGracias, ya puedo entrar otra vez. Les confirmo que todo funciona.\n\nUn saludo,\nAna\n\n")
	sb.WriteString("On Mon, Feb 1, 2016 at 4:58 AM, Soporte <soporte@example.com> wrote:\n\n")
	for i := 0; i < 100; i++ {
		sb.WriteString("> Hemos recibido su solicitud y un agente le responderá en breve, gracias.\n")
	}
	return sb.String()
}

func benchText(b *testing.B, text string) {
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		CutQuote(text)
	}
}

func BenchmarkCutQuoteProse10KB(b *testing.B) { benchText(b, proseMail()) }

func BenchmarkCutQuoteReply(b *testing.B) { benchText(b, replyMail()) }
