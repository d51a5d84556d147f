package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/batos/batos/bridge/wire"
)

// jsonable converts a decoded wire value into one encoding/json accepts
// everywhere: NaN and infinities become strings, binary becomes base64
// (encoding/json's rule for []byte).
func jsonable(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return out
	default:
		return v
	}
}

// writeJSON prints v as indented JSON with sorted keys.
func writeJSON(w io.Writer, v any) error {
	b, err := marshalJSON(v, "  ")
	if err != nil {
		return fmt.Errorf("printing JSON: %w", err)
	}
	_, err = w.Write(b)
	return err
}

// marshalJSON encodes v followed by a newline, leaving <, > and &
// as they are: reprs such as "<UvmObject oid=1>" stay readable.
func marshalJSON(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(jsonable(v)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// formatValue renders a result value for people: strings as they are,
// nil as "nil", everything else as compact JSON.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return x
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return fmt.Sprintf("<%d bytes>", len(x))
	}
	b, err := marshalJSON(v, "")
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// formatSlotValue is formatValue with strings quoted, so that a slot
// holding "1" is told apart from one holding 1, and a reference written
// @OID, as set takes it.
func formatSlotValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	if oid, ok, err := wire.AsRefValue(v); ok && err == nil {
		return "@" + strconv.FormatUint(oid, 10)
	}
	return formatValue(v)
}

// parseJSON decodes one JSON value into wire types: integers become
// int64 (uint64 above its range), other numbers float64.
func parseJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return fromJSON(v), nil
}

func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n
		}
		if n, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return n
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case []any:
		for i, e := range x {
			x[i] = fromJSON(e)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = fromJSON(e)
		}
		return x
	default:
		return v
	}
}

// keyValues is a repeatable k=v flag.
type keyValues map[string]any

func (kv keyValues) String() string {
	keys := sortedKeys(kv)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + fmt.Sprint(kv[k])
	}
	return strings.Join(parts, ",")
}

func (kv keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	kv[k] = v
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// indent prefixes every line of s with pre.
func indent(s, pre string) string {
	s = strings.TrimRight(s, "\n")
	var b bytes.Buffer
	for line := range strings.SplitSeq(s, "\n") {
		if line == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString(pre)
		b.WriteString(line)
		b.WriteString("\n")
	}
	return b.String()
}

// shorten cuts s to n runes, on one line.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// stampTime renders an RFC 3339 time from the daemon in local-free,
// second-precision form; unparsable text is returned as it is.
func stampTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// between returns the time from start to end (RFC 3339), or "".
func between(start, end string) string {
	a, err1 := time.Parse(time.RFC3339Nano, start)
	b, err2 := time.Parse(time.RFC3339Nano, end)
	if err1 != nil || err2 != nil {
		return ""
	}
	return roundDuration(b.Sub(a)).String()
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// newTable returns a tabwriter for aligned columns separated by at least
// pad spaces, without trailing spaces on its lines.
func newTable(w io.Writer, pad int) *tabwriter.Writer {
	return tabwriter.NewWriter(&trimWriter{w: w}, 0, 4, pad, ' ', 0)
}

// trimWriter drops the spaces before each newline.
type trimWriter struct {
	w      io.Writer
	spaces int // spaces held back
}

func (t *trimWriter) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p))
	for _, c := range p {
		switch c {
		case ' ':
			t.spaces++
		case '\n':
			t.spaces = 0
			out = append(out, c)
		default:
			for ; t.spaces > 0; t.spaces-- {
				out = append(out, ' ')
			}
			out = append(out, c)
		}
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
