package sqlite

import (
	"database/sql"
	"fmt"
	"strings"
)

// beforeMigration runs Go steps a migration's SQL cannot express, in the
// migration's transaction, before its SQL.
var beforeMigration = map[int]func(*sql.Tx) error{
	4: dropFTS5,
}

// dropFTS5 removes the FTS5 search table and its triggers that databases
// made before 0004 hold. A binary built without FTS5 (the plain `go build`)
// cannot DROP a table of a module it lacks, so then the table's schema row
// goes directly (a virtual table has no pages of its own) and its shadow
// tables, ordinary tables to such a binary, are dropped one by one.
func dropFTS5(tx *sql.Tx) error {
	for _, trg := range []string{"message_search_delete", "message_search_update"} {
		if _, err := tx.Exec(`DROP TRIGGER IF EXISTS ` + trg); err != nil {
			return fmt.Errorf("drop trigger %s: %w", trg, err)
		}
	}
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'message_search'`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if _, err := tx.Exec(`DROP TABLE message_search`); err == nil {
		return nil
	} else if !strings.Contains(err.Error(), "no such module") {
		return fmt.Errorf("drop FTS5 table: %w", err)
	}
	if _, err := tx.Exec(`PRAGMA writable_schema = ON`); err != nil {
		return err
	}
	_, err := tx.Exec(`DELETE FROM sqlite_master WHERE type = 'table' AND name = 'message_search'`)
	if _, err2 := tx.Exec(`PRAGMA writable_schema = OFF`); err == nil {
		err = err2
	}
	if err != nil {
		return fmt.Errorf("remove FTS5 table: %w", err)
	}
	for _, shadow := range []string{"data", "idx", "content", "docsize", "config"} {
		if _, err := tx.Exec(`DROP TABLE IF EXISTS message_search_` + shadow); err != nil {
			return fmt.Errorf("drop FTS5 table message_search_%s: %w", shadow, err)
		}
	}
	return nil
}
