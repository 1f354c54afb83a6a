package config

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// decoder copies the generic TOML tree into Config. The toml library can do
// this itself, but it stops at the first type mismatch; walking the tree
// ourselves lets Parse report every bad value and every unknown key at once,
// each under its full key.
type decoder struct {
	p *problems
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	imapType        = reflect.TypeFor[IMAP]()
)

// fieldsOf maps the TOML names of a struct's fields to their index paths.
// The keys of an embedded struct without a tag (OAuth2Keys) count as the
// struct's own, so [[imap]] and [outbound] share one declaration of them.
func fieldsOf(t reflect.Type) map[string][]int {
	out := make(map[string][]int)
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("toml")
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			for name, idx := range fieldsOf(f.Type) {
				out[name] = append([]int{i}, idx...)
			}
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name != "" && name != "-" {
			out[name] = []int{i}
		}
	}
	return out
}

func (d *decoder) table(path string, m map[string]any, rv reflect.Value) {
	fields := fieldsOf(rv.Type())
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		key := join(path, k)
		idx, ok := fields[k]
		if !ok {
			d.p.add(key, "%s", unknownKey(path, k, fields))
			continue
		}
		d.value(key, m[k], rv.FieldByIndex(idx))
	}
}

func (d *decoder) value(key string, v any, rv reflect.Value) {
	if reflect.PointerTo(rv.Type()).Implements(textUnmarshaler) {
		s, ok := v.(string)
		if !ok {
			d.p.add(key, `must be a duration in quotes such as "90s", "15m" or "72h", not %s`, describe(v))
			return
		}
		if err := rv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.p.add(key, "%v", err)
		}
		return
	}
	switch rv.Kind() {
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			d.p.add(key, "must be a string in quotes, not %s", describe(v))
			return
		}
		rv.SetString(s)
	case reflect.Int, reflect.Int64:
		n, ok := v.(int64)
		if !ok {
			d.p.add(key, "must be a whole number without quotes, not %s", describe(v))
			return
		}
		if rv.OverflowInt(n) {
			d.p.add(key, "%d is too large", n)
			return
		}
		rv.SetInt(n)
	case reflect.Pointer:
		nv := reflect.New(rv.Type().Elem())
		before := len(d.p.list)
		d.value(key, v, nv.Elem())
		if len(d.p.list) == before {
			rv.Set(nv)
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			d.p.add(key, "must be a table ([%s]), not %s", key, describe(v))
			return
		}
		d.table(key, m, rv)
	case reflect.Slice:
		d.slice(key, v, rv)
	default:
		// Only reachable if a field of an unsupported kind is added to Config.
		d.p.add(key, "cannot be decoded into %s", rv.Type())
	}
}

func (d *decoder) slice(key string, v any, rv reflect.Value) {
	elemType := rv.Type().Elem()
	var elems []any
	switch v := v.(type) {
	case []any:
		elems = v
	case []map[string]any:
		for _, m := range v {
			elems = append(elems, m)
		}
	default:
		if elemType.Kind() == reflect.Struct {
			d.p.add(key, "must be written as [[%s]] tables, not %s", key, describe(v))
		} else {
			d.p.add(key, "must be a list such as [\"a\", \"b\"], not %s", describe(v))
		}
		return
	}
	out := reflect.MakeSlice(rv.Type(), len(elems), len(elems))
	for i, e := range elems {
		if elemType == imapType {
			out.Index(i).Set(reflect.ValueOf(defaultIMAP()))
		}
		d.value(key+"["+strconv.Itoa(i)+"]", e, out.Index(i))
	}
	rv.Set(out)
}

// describe names the TOML type of a value for messages.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return "a string"
	case int64:
		return "a number"
	case float64:
		return "a decimal number"
	case bool:
		return "a boolean (" + strconv.FormatBool(v) + ")"
	case time.Time:
		return "a date"
	case []any, []map[string]any:
		return "a list"
	case map[string]any:
		return "a table"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// unknownKey explains an unknown key, suggesting the sibling it was probably
// meant to be, or the section it belongs in.
func unknownKey(path, k string, fields map[string][]int) string {
	what := "unknown key"
	if path == "" {
		what = "unknown section"
	} else if strings.ContainsRune(path, '[') {
		what = "unknown key in [[" + path[:strings.IndexByte(path, '[')] + "]]"
	} else {
		what = "unknown key in [" + path + "]"
	}
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	if s := suggest(k, names); s != "" {
		return fmt.Sprintf("%s; did you mean %q?", what, s)
	}
	if homes := sectionsWith(k); len(homes) > 0 && path != "" {
		return fmt.Sprintf("%s; %q belongs in %s", what, k, strings.Join(homes, " or "))
	}
	if path == "" {
		return what + "; known sections are " + strings.Join(names, ", ")
	}
	return what + "; known keys are " + strings.Join(names, ", ")
}

// sectionsWith lists the sections that have a key named k, for a key written
// under the wrong header.
func sectionsWith(k string) []string {
	var out []string
	top := reflect.TypeFor[Config]()
	for i := range top.NumField() {
		f := top.Field(i)
		name := f.Tag.Get("toml")
		t := f.Type
		header := "[" + name + "]"
		if t.Kind() == reflect.Slice {
			t = t.Elem()
			header = "[[" + name + "]]"
		}
		if t.Kind() != reflect.Struct {
			continue
		}
		if _, ok := fieldsOf(t)[k]; ok {
			out = append(out, header)
		}
	}
	return out
}

// suggest returns the candidate closest to k when it is close enough to be a
// likely typo, or "".
func suggest(k string, candidates []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	nk := norm(k)
	best, bestDist := "", 0
	for _, c := range candidates {
		nc := norm(c)
		dist := editDistance(nk, nc)
		// "datadir" for "data_dir" or "pending_close" for
		// "pending_close_days" are near misses too.
		if strings.ReplaceAll(nk, "_", "") == strings.ReplaceAll(nc, "_", "") ||
			len(nk) >= 5 && (strings.HasPrefix(nc, nk) || strings.HasPrefix(nk, nc)) {
			dist = min(dist, 1)
		}
		limit := 2
		if len(nk) <= 4 {
			limit = 1
		}
		if dist <= limit && (best == "" || dist < bestDist) {
			best, bestDist = c, dist
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost one, so "nmae"
// is as close to "name" as "nam" is.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
