package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/ticketd/ticketd"
)

func init() {
	ticketSubcommands["search"] = runTicketsSearch
}

// searchHitJSON is one result of `tickets search --json`: the ticket (as in
// `tickets list --json`) plus how it matched.
type searchHitJSON struct {
	ticketJSON
	Match   string  `json:"match"`   // number, requester or text
	Snippet string  `json:"snippet"` // matching words in context, marked [like this]
	Rank    float64 `json:"rank"`    // bm25; lower is better; 0 for number and requester matches
}

func runTicketsSearch(env *cmdEnv, args []string) int {
	f := newFlags(env, "tickets search")
	status := f.String("status", "", "only tickets with this status (nuevo, pendiente, abierto, cerrado; or new, pending, open, closed)")
	limit := f.Int("limit", 50, "at most N tickets")
	asJSON := f.Bool("json", false, "print a JSON array")
	pos, code, ok := f.parse(args)
	if !ok {
		return code
	}
	query := strings.TrimSpace(strings.Join(pos, " "))
	if query == "" {
		fmt.Fprintln(env.stderr, "usage: ticketd tickets search QUERY [--status S] [--limit N] [--json]\n  QUERY: words, a requester address, or a ticket number")
		return exitUsage
	}
	if !validStatus(env, "tickets search", status) {
		return exitUsage
	}
	st, cfg, code := openStore(f)
	if st == nil {
		return code
	}
	defer st.Close()
	// A running daemon indexes new mail within a second; catch up here so
	// that a search always sees everything stored, daemon or not.
	if _, err := st.IndexSearch(context.Background()); err != nil {
		fmt.Fprintf(env.stderr, "ticketd: updating the search index: %v\n", err)
		return exitTempFail
	}
	out := []searchHitJSON{}
	err := st.View(context.Background(), func(tx ticketd.Tx) error {
		hits, err := tx.Search(ticketd.SearchQuery{Text: query, Status: ticketd.Status(*status), Limit: *limit})
		if err != nil {
			return err
		}
		for _, h := range hits {
			j, err := loadTicketJSON(tx, cfg, h.Ticket, false)
			if err != nil {
				return err
			}
			out = append(out, searchHitJSON{ticketJSON: j, Match: h.Match, Snippet: h.Snippet, Rank: h.Rank})
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd: %v\n", err)
		return exitTempFail
	}
	if *asJSON {
		return printJSON(env.stdout, out)
	}
	if len(out) == 0 {
		fmt.Fprintf(env.stderr, "no tickets match %q\n", query)
		return exitOK
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NUMBER\tSTATUS\tREQUESTER\tSUBJECT\tMATCH")
	for _, h := range out {
		match := h.Match
		if h.Snippet != "" {
			match = h.Snippet
		}
		fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%s\n", h.Number, h.Status, h.Requester, h.Subject, match)
	}
	tw.Flush()
	return exitOK
}
