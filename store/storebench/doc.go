// Package storebench measures both store engines at scale: a generator
// fills a store with what the daemon would have written for that many
// tickets (three received mails each, raw bytes kept, with the history and
// the outgoing mail of each ticket's course, statuses spread by age as on
// a desk, 1,000 tickets due for a reminder), then the benchmarks time what
// agents and customers do against it through the engines' own code:
// tickets search, tickets list --limit 50, a status page GET, and one
// scheduler pass with 1,000 tickets due.
//
//	TICKETD_BENCH_TICKETS=1000000 TICKETD_BENCH_CACHE=/tmp/ticketd-scale \
//	  go test -run '^$' -bench Scale -benchtime 20x -timeout 3h ./store/storebench/
//
// The default is 20,000 tickets (60,000 messages), small enough for a
// shared 2-core machine; the figure is 1,000,000 tickets and
// 3,000,000 messages, about five minutes of generation on SQLite and a
// quarter of an hour on PostgreSQL there. TICKETD_BENCH_CACHE keeps the generated databases
// in a folder (about 9 GB for SQLite and 13 GB for PostgreSQL at that
// size), so that a repeated run copies them instead of generating again;
// remove the folder when done.
package storebench
