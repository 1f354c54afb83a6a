package postgres

import "time"

// Times are kept to the millisecond, as on SQLite, so that both engines
// give back the same values; zero is "not set" (NULL where the column is
// nullable).

func ts(t time.Time) time.Time {
	if t.IsZero() {
		return time.UnixMilli(0).UTC()
	}
	return t.UTC().Truncate(time.Millisecond)
}

func nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Millisecond)
}

// fromTS reads a nullable column scanned into a pointer.
func fromTS(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return fromT(*p)
}

// fromT reads a NOT NULL column, where the Unix epoch stands for "not set".
func fromT(t time.Time) time.Time {
	if t.UnixMilli() == 0 {
		return time.Time{}
	}
	return t.UTC()
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
