package store

import (
	"database/sql"
	"sort"
	"strings"
	"testing"
)

// leftOut names every SQLite table `store copy` does not carry, and why.
// A table or column of the SQLite schema that is neither copied nor named
// here fails TestCopyCarriesTheWholeSchema: a migration that adds one
// must say what becomes of it on PostgreSQL.
var leftOut = map[string]string{
	"schema_migrations": "each engine records its own migrations; Copy migrates the target before it copies",
	"sqlite_sequence":   "SQLite's own AUTOINCREMENT bookkeeping; PostgreSQL's sequences are moved past the copied ids instead",
	// The search index is the engine's own (a tsvector column on
	// PostgreSQL): Copy rebuilds it on the target (IndexSearch).
	"search_state":         "search index: rebuilt on the target",
	"message_fts":          "search index (FTS4): rebuilt on the target",
	"message_fts_segments": "search index (FTS4 shadow table): rebuilt on the target",
	"message_fts_segdir":   "search index (FTS4 shadow table): rebuilt on the target",
	"message_fts_docsize":  "search index (FTS4 shadow table): rebuilt on the target",
	"message_fts_stat":     "search index (FTS4 shadow table): rebuilt on the target",
}

// The copy carries every table and every column of a freshly migrated
// SQLite store, each as the kind SQLite declares it, unless leftOut says
// why not; and it names nothing the schema does not have.
func TestCopyCarriesTheWholeSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite3", "file:"+DBPath(dir)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(tables) < len(copied) {
		t.Fatalf("read %d tables from the schema: %v", len(tables), tables)
	}

	byName := map[string]table{}
	for _, tb := range copied {
		if _, dup := byName[tb.name]; dup {
			t.Errorf("table %s is copied twice", tb.name)
		}
		byName[tb.name] = tb
		if _, both := leftOut[tb.name]; both {
			t.Errorf("table %s is both copied and left out", tb.name)
		}
	}
	inSchema := map[string]bool{}
	for _, name := range tables {
		inSchema[name] = true
		tb, ok := byName[name]
		if !ok {
			if _, ok := leftOut[name]; !ok {
				t.Errorf("table %s is neither copied by store copy nor left out with a reason", name)
			}
			continue
		}
		cols := map[string]int{}
		for _, c := range tb.cols {
			cols[c.name] = c.kind
		}
		info, err := db.Query(`SELECT name, type FROM pragma_table_info(?)`, name)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for info.Next() {
			var col, typ string
			if err := info.Scan(&col, &typ); err != nil {
				t.Fatal(err)
			}
			seen[col] = true
			kind, ok := cols[col]
			if !ok {
				t.Errorf("column %s.%s is not copied by store copy", name, col)
				continue
			}
			if !kindFits(kind, typ) {
				t.Errorf("column %s.%s is declared %s in SQLite but copied as %s", name, col, typ, kindName(kind))
			}
		}
		info.Close()
		for c := range cols {
			if !seen[c] {
				t.Errorf("store copy names column %s.%s, which the SQLite schema does not have", name, c)
			}
		}
	}
	for name := range leftOut {
		if !inSchema[name] {
			t.Errorf("table %s is left out of store copy but the SQLite schema does not have it", name)
		}
	}
	var missing []string
	for name := range byName {
		if !inSchema[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("store copy names tables the SQLite schema does not have: %s", strings.Join(missing, ", "))
	}
}

func kindFits(kind int, declared string) bool {
	switch strings.ToUpper(declared) {
	case "INTEGER":
		return kind == kInt || kind == kTime || kind == kBool
	case "TEXT":
		return kind == kText
	case "BLOB":
		return kind == kBlob
	}
	return false
}

func kindName(kind int) string {
	return [...]string{kInt: "an integer", kText: "text", kBlob: "a blob", kTime: "a time", kBool: "a boolean"}[kind]
}
