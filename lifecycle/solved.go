package lifecycle

import (
	"strings"
	"unicode"
)

// solvedWords are the answers that mean "my problem is solved", in every
// language the mails are written in (a customer may answer in English, or
// in their own language to a desk in another). Both genders, since a
// customer may think of "la solicitud" rather than "el problema".
var solvedWords = map[string]bool{
	"resuelto": true, "resuelta": true, "solucionado": true, "solucionada": true,
	"solved": true, "resolved": true,
	"résolu": true, "résolue": true, "resolu": true, "resolue": true,
	"resolvido": true, "resolvida": true,
	"risolto": true, "risolta": true,
}

// yesWords may come with a solved word ("Sí, resuelto", "yes solved").
var yesWords = map[string]bool{
	"sí": true, "si": true, "sì": true, "yes": true, "oui": true, "sim": true,
}

// IsSolvedReply reports whether a customer's new text says only that the
// problem is solved: a solved word, optionally with a yes, in any case and
// with any punctuation. Anything more ("resuelto, pero ahora falla otra
// cosa") is an ordinary reply.
func IsSolvedReply(text string) bool {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r)
	})
	solved := false
	for _, w := range words {
		switch {
		case solvedWords[w]:
			solved = true
		case yesWords[w]:
		default:
			return false
		}
	}
	return solved
}
