package llama

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzTextStream(f *testing.F) {
	f.Add([]byte("ab\xe4\xb8\x96cENDd"), "END", uint8(3))
	f.Add([]byte("\xff\xfe abc"), "b", uint8(1))
	f.Add([]byte("héllo"), "", uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, stop string, step uint8) {
		n := int(step%7) + 1
		var stops []string
		if !utf8.ValidString(stop) {
			return // Generate rejects such stop strings
		}
		if stop != "" {
			stops = []string{stop}
		}
		s := textStream{stops: stops}
		var out strings.Builder
		stopped := false
		for i := 0; i < len(data) && !stopped; i += n {
			piece, st := s.add(data[i:min(i+n, len(data))])
			out.WriteString(piece)
			stopped = st
		}
		out.WriteString(s.flush())
		got := out.String()
		if got != s.String() {
			t.Fatalf("released %q, text %q", got, s.String())
		}
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 %q", got)
		}
		if stop != "" && strings.Contains(got, stop) {
			t.Fatalf("text %q contains stop %q", got, stop)
		}
		if !stopped && utf8.Valid(data) && got != string(data) {
			t.Fatalf("valid input %q came out as %q", data, got)
		}
	})
}
