// Package storebench measures both store engines at scale: a generator
// fills a store with tickets (three messages each, a history entry and an
// acknowledgement), then the benchmarks time what agents and customers do
// against it: tickets search, tickets list --limit 50, a status page GET,
// and one scheduler pass with 1,000 tickets due.
//
//	TICKETD_BENCH_TICKETS=1000000 go test -run '^$' -bench Scale -benchtime 200x -timeout 6h ./store/storebench/
//
// The default is 20,000 tickets (60,000 messages), small enough for a
// shared 2-core machine; the figure is 1,000,000 tickets and
// 3,000,000 messages.
package storebench
