// Package locale holds the language facts shared by outgoing mails and the
// status page: which languages exist, how statuses and priorities are called,
// what a status means to a customer, and how dates are written.
//
// Every function is pure. An unsupported language falls back to English and a
// nil *time.Location means UTC, so callers never have to special-case either.
package locale

import (
	"strconv"
	"strings"
	"time"
)

// Languages lists the supported languages, the default (Spanish) first.
var Languages = []string{"es", "en", "fr", "pt", "it"}

// fallback is the language used for anything unsupported.
const fallback = "en"

// Supported reports whether lang is one of Languages.
func Supported(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// norm returns lang when it is supported and the fallback otherwise.
func norm(lang string) string {
	if Supported(lang) {
		return lang
	}
	return fallback
}

// Status keys, the canonical (Spanish) names stored with a ticket.
const (
	StatusNew     = "nuevo"
	StatusPending = "pendiente"
	StatusOpen    = "abierto"
	StatusClosed  = "cerrado"
)

var statusNames = map[string]map[string]string{
	StatusNew:     {"es": "Nuevo", "en": "New", "fr": "Nouveau", "pt": "Novo", "it": "Nuovo"},
	StatusPending: {"es": "Pendiente", "en": "Pending", "fr": "En attente", "pt": "Pendente", "it": "In attesa"},
	StatusOpen:    {"es": "Abierto", "en": "Open", "fr": "Ouvert", "pt": "Aberto", "it": "Aperto"},
	StatusClosed:  {"es": "Cerrado", "en": "Closed", "fr": "Fermé", "pt": "Fechado", "it": "Chiuso"},
}

// StatusName returns the display name of a status key in lang. An unknown key
// is returned unchanged, so a newer status still shows something.
func StatusName(status, lang string) string {
	if names, ok := statusNames[status]; ok {
		return names[norm(lang)]
	}
	return status
}

// StatusMeaning returns one sentence telling the customer what the status
// means for them. For a pending ticket it names the day it will close when
// closeDate is non-zero. An unknown key gives "".
func StatusMeaning(status, lang string, closeDate time.Time, loc *time.Location) string {
	lang = norm(lang)
	switch status {
	case StatusNew:
		return map[string]string{
			"es": "Hemos recibido su solicitud y una persona de nuestro equipo la atenderá pronto.",
			"en": "We have received your request and someone from our team will look at it soon.",
			"fr": "Nous avons bien reçu votre demande et une personne de notre équipe va s'en occuper rapidement.",
			"pt": "Recebemos sua solicitação e alguém da nossa equipe vai analisá-la em breve.",
			"it": "Abbiamo ricevuto la Sua richiesta e una persona del nostro team se ne occuperà a breve.",
		}[lang]
	case StatusPending:
		if closeDate.IsZero() {
			return map[string]string{
				"es": "Le hemos respondido y estamos esperando su respuesta.",
				"en": "We answered and are waiting for your reply.",
				"fr": "Nous vous avons répondu et attendons votre retour.",
				"pt": "Já respondemos e estamos aguardando seu retorno.",
				"it": "Le abbiamo risposto e attendiamo un Suo riscontro.",
			}[lang]
		}
		on := OnDate(closeDate, lang, loc)
		return map[string]string{
			"es": "Le hemos respondido y estamos esperando su respuesta; si no tenemos noticias suyas, esta solicitud se cerrará " + on + ".",
			"en": "We answered and are waiting for your reply; this request will close " + on + " if we don't hear from you.",
			"fr": "Nous vous avons répondu et attendons votre retour ; sans nouvelles de votre part, cette demande sera fermée " + on + ".",
			"pt": "Já respondemos e estamos aguardando seu retorno; se não tivermos notícias suas, esta solicitação será encerrada " + on + ".",
			"it": "Le abbiamo risposto e attendiamo un Suo riscontro; se non riceviamo notizie, la richiesta verrà chiusa " + on + ".",
		}[lang]
	case StatusOpen:
		return map[string]string{
			"es": "Hemos recibido su respuesta y nuestro equipo le contestará lo antes posible.",
			"en": "We have your reply and our team will answer as soon as possible.",
			"fr": "Nous avons bien reçu votre réponse et notre équipe vous répondra dès que possible.",
			"pt": "Recebemos sua resposta e nossa equipe vai responder o quanto antes.",
			"it": "Abbiamo ricevuto la Sua risposta e il nostro team Le risponderà il prima possibile.",
		}[lang]
	case StatusClosed:
		return map[string]string{
			"es": "Esta solicitud está cerrada; si necesita algo más, responda a nuestro último correo y se volverá a abrir.",
			"en": "This request is closed; if you need anything else, just reply to our last email and it will reopen.",
			"fr": "Cette demande est fermée ; si vous avez encore besoin de nous, répondez simplement à notre dernier message et elle sera rouverte.",
			"pt": "Esta solicitação está encerrada; se precisar de mais alguma coisa, é só responder ao nosso último e-mail que ela será reaberta.",
			"it": "Questa richiesta è chiusa; se ha bisogno di altro, risponda semplicemente alla nostra ultima e-mail e verrà riaperta.",
		}[lang]
	}
	return ""
}

// Priority keys, the canonical (Spanish) names stored with a ticket.
const (
	PriorityLow    = "baja"
	PriorityNormal = "media"
	PriorityHigh   = "alta"
	PriorityUrgent = "urgente"
)

var priorityNames = map[string]map[string]string{
	PriorityLow:    {"es": "Baja", "en": "Low", "fr": "Basse", "pt": "Baixa", "it": "Bassa"},
	PriorityNormal: {"es": "Media", "en": "Normal", "fr": "Normale", "pt": "Média", "it": "Media"},
	PriorityHigh:   {"es": "Alta", "en": "High", "fr": "Haute", "pt": "Alta", "it": "Alta"},
	PriorityUrgent: {"es": "Urgente", "en": "Urgent", "fr": "Urgente", "pt": "Urgente", "it": "Urgente"},
}

// PriorityName returns the display name of a priority key in lang. An unknown
// key is returned unchanged.
func PriorityName(p, lang string) string {
	if names, ok := priorityNames[p]; ok {
		return names[norm(lang)]
	}
	return p
}

var months = map[string][12]string{
	"es": {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	"fr": {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
	"pt": {"janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro"},
	"it": {"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"},
}

func in(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc)
}

// day writes the day of the month. French, Portuguese and Italian write the
// first of the month as an ordinal (1er, 1º, 1º); Spanish and English don't.
func day(d int, lang string) string {
	if d == 1 {
		switch lang {
		case "fr":
			return "1er"
		case "pt", "it":
			return "1º"
		}
	}
	return strconv.Itoa(d)
}

// FormatDate writes the calendar day of t in loc the way lang writes it in
// running text: "25 de noviembre de 2026", "25 November 2026",
// "25 novembre 2026", "25 de novembro de 2026", "25 novembre 2026".
func FormatDate(t time.Time, lang string, loc *time.Location) string {
	lang = norm(lang)
	t = in(t, loc)
	d, m, y := day(t.Day(), lang), months[lang][t.Month()-1], strconv.Itoa(t.Year())
	switch lang {
	case "es", "pt":
		return d + " de " + m + " de " + y
	}
	return d + " " + m + " " + y
}

// FormatDateTime writes FormatDate followed by the 24-hour time:
// "25 de noviembre de 2026, 14:05", "25 novembre 2026 à 14:05".
func FormatDateTime(t time.Time, lang string, loc *time.Location) string {
	lang = norm(lang)
	t = in(t, loc)
	sep := ", "
	if lang == "fr" {
		sep = " à "
	}
	return FormatDate(t, lang, t.Location()) + sep + t.Format("15:04")
}

// OnDate writes "on <date>" the way a sentence needs it: "el 25 de noviembre
// de 2026", "on 25 November 2026", "le 25 novembre 2026", "em 25 de novembro
// de 2026", "il 25 novembre 2026" (Italian elides before 8 and 11: "l'8").
func OnDate(t time.Time, lang string, loc *time.Location) string {
	lang = norm(lang)
	date := FormatDate(t, lang, loc)
	switch lang {
	case "es":
		return "el " + date
	case "fr":
		return "le " + date
	case "pt":
		return "em " + date
	case "it":
		if d := in(t, loc).Day(); d == 8 || d == 11 {
			return "l'" + date
		}
		return "il " + date
	}
	return "on " + date
}

// SizeParts scales a byte count for display: the number written with lang's
// decimal separator ("1,5", "1.5", "240") and the unit it is in (0 bytes,
// 1 KB, 2 MB, 3 GB). Callers name the unit their way ("Ko", "bytes", "B").
func SizeParts(n int64, lang string) (num string, unit int) {
	if n < 1024 {
		return strconv.FormatInt(max(n, 0), 10), 0
	}
	f := float64(n) / 1024
	unit = 1
	for f >= 1024 && unit < 3 {
		f /= 1024
		unit++
	}
	if f < 10 {
		num = strings.TrimSuffix(strconv.FormatFloat(f, 'f', 1, 64), ".0")
	} else {
		num = strconv.FormatFloat(f, 'f', 0, 64)
	}
	if norm(lang) != "en" {
		num = strings.Replace(num, ".", ",", 1)
	}
	return num, unit
}
