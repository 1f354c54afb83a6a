package web

import (
	"github.com/ticketd/ticketd/locale"
)

// labels are the words of the page itself, in one language. The status
// names and meanings come from locale, shared with the mails.
type labels struct {
	Request      string // "Solicitud", before the number
	Status       string
	Opened       string
	Updated      string
	Conversation string
	You          string // a customer message without a display name
	Team         string // the role shown beside an agent's name
	Support      string // an agent without a configured name
	ShowQuoted   string
	Attachments  string
	NoText       string
	ReadOnly     string
	NotFound     string
	NotFoundText string
	Error        string
	ErrorText    string

	lang  string // whose number format sizes use
	units [4]string
}

var allLabels = map[string]*labels{
	"es": {
		Request: "Solicitud", Status: "Estado", Opened: "Fecha de apertura", Updated: "Última actividad",
		Conversation: "Conversación", You: "Usted", Team: "Equipo de soporte", Support: "Soporte",
		ShowQuoted: "Mostrar el texto citado", Attachments: "Archivos adjuntos", NoText: "(sin texto)",
		ReadOnly:     "Esta página solo muestra el estado de su solicitud. Para añadir algo, responda al último correo que le enviamos.",
		NotFound:     "Página no encontrada",
		NotFoundText: "No hay ninguna página en esta dirección. Compruebe que el enlace esté completo: lo encontrará en los correos que le enviamos.",
		Error:        "Error temporal",
		ErrorText:    "No hemos podido mostrar esta página. Inténtelo de nuevo dentro de unos minutos.",
		lang:         "es", units: [4]string{"B", "KB", "MB", "GB"},
	},
	"en": {
		Request: "Request", Status: "Status", Opened: "Opened", Updated: "Last updated",
		Conversation: "Conversation", You: "You", Team: "Support team", Support: "Support",
		ShowQuoted: "Show quoted text", Attachments: "Attachments", NoText: "(no text)",
		ReadOnly:     "This page only shows where your request stands. To add something, reply to the last email we sent you.",
		NotFound:     "Page not found",
		NotFoundText: "There is no page at this address. Check that the link is complete: you will find it in the emails we sent you.",
		Error:        "Temporary error",
		ErrorText:    "We could not show this page. Please try again in a few minutes.",
		lang:         "en", units: [4]string{"B", "KB", "MB", "GB"},
	},
	"fr": {
		Request: "Demande", Status: "Statut", Opened: "Date d'ouverture", Updated: "Dernière mise à jour",
		Conversation: "Échanges", You: "Vous", Team: "Équipe support", Support: "Support",
		ShowQuoted: "Afficher le texte cité", Attachments: "Pièces jointes", NoText: "(sans texte)",
		ReadOnly:     "Cette page indique seulement où en est votre demande. Pour ajouter quelque chose, répondez au dernier message que nous vous avons envoyé.",
		NotFound:     "Page introuvable",
		NotFoundText: "Il n'y a aucune page à cette adresse. Vérifiez que le lien est complet : vous le trouverez dans les messages que nous vous avons envoyés.",
		Error:        "Erreur temporaire",
		ErrorText:    "Nous n'avons pas pu afficher cette page. Veuillez réessayer dans quelques minutes.",
		lang:         "fr", units: [4]string{"o", "Ko", "Mo", "Go"},
	},
	"pt": {
		Request: "Solicitação", Status: "Status", Opened: "Data de abertura", Updated: "Última atualização",
		Conversation: "Conversa", You: "Você", Team: "Equipe de suporte", Support: "Suporte",
		ShowQuoted: "Mostrar o texto citado", Attachments: "Anexos", NoText: "(sem texto)",
		ReadOnly:     "Esta página mostra apenas a situação da sua solicitação. Para acrescentar algo, responda ao último e-mail que enviamos.",
		NotFound:     "Página não encontrada",
		NotFoundText: "Não há nenhuma página neste endereço. Verifique se o link está completo: você o encontra nos e-mails que enviamos.",
		Error:        "Erro temporário",
		ErrorText:    "Não foi possível mostrar esta página. Tente novamente em alguns minutos.",
		lang:         "pt", units: [4]string{"B", "KB", "MB", "GB"},
	},
	"it": {
		Request: "Richiesta", Status: "Stato", Opened: "Data di apertura", Updated: "Ultimo aggiornamento",
		Conversation: "Conversazione", You: "Lei", Team: "Team di assistenza", Support: "Assistenza",
		ShowQuoted: "Mostra il testo citato", Attachments: "Allegati", NoText: "(nessun testo)",
		ReadOnly:     "Questa pagina mostra solo lo stato della Sua richiesta. Per aggiungere qualcosa, risponda all'ultima e-mail che Le abbiamo inviato.",
		NotFound:     "Pagina non trovata",
		NotFoundText: "Non esiste alcuna pagina a questo indirizzo. Verifichi che il link sia completo: lo trova nelle e-mail che Le abbiamo inviato.",
		Error:        "Errore temporaneo",
		ErrorText:    "Non è stato possibile mostrare questa pagina. Riprovi tra qualche minuto.",
		lang:         "it", units: [4]string{"B", "KB", "MB", "GB"},
	},
}

// labelsFor returns the labels of lang, English when it is unsupported
// (as locale does).
func labelsFor(lang string) (*labels, string) {
	if !locale.Supported(lang) {
		lang = "en"
	}
	return allLabels[lang], lang
}

// size writes a byte count the way lang writes it: "830 B", "1,4 MB", "12 Ko".
func (l *labels) size(n int64) string {
	num, u := locale.SizeParts(n, l.lang)
	return num + "\u00a0" + l.units[u]
}
