package sqlite

// CountTickets returns how many tickets the database holds.
func (t *Tx) CountTickets() (int, error) {
	var n int
	if err := t.queryRow(`SELECT COUNT(*) FROM tickets`).Scan(&n); err != nil {
		return 0, wrapErr("count tickets", err)
	}
	return n, nil
}
