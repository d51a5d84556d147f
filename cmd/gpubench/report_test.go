package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPct(t *testing.T) {
	v := []float64{5, 1, 4, 2, 3}
	if got := median(v); got != 3 {
		t.Errorf("median = %v", got)
	}
	if got := pct(v, 99); got != 5 {
		t.Errorf("p99 = %v", got)
	}
	if got := pct(nil, 50); got != 0 {
		t.Errorf("pct(nil) = %v", got)
	}
}

// TestReport renders a report from result files and checks the goals it
// derives; no GPU or model is involved.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := write("full.json", `{"decode_tok_s": 200, "usage_decode_tok_s": 190, "probe_decode_tok_s": 189, "switch_ms_p99": 0.01,
		"batch4_decode_tok_s": 700, "seq4_decode_tok_s": 200, "batch4_end_to_end_tok_s": 600, "seq4_end_to_end_tok_s": 190}`)
	partial := write("partial.json", `{"decode_tok_s": 20, "offloaded": "16/33"}`)
	hf := write("hf.json", `{"decode_tok_s": 25}`)
	ttft := write("ttft.jsonl", `{"mode":"plain","ttft_s":1.0}
{"mode":"blob","ttft_s":1.1}
`)
	out := filepath.Join(dir, "gpu.md")
	if err := cmdReport([]string{"-o", out, "-full", full, "-partial", partial, "-hf", hf, "-ttft", ttft}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{
		"NOT MET: decode ≥ 10× the Python stack: 200.0 vs 25.0 tok/s = 8.0×",
		"met: our layer adds ≤ 2% per token",
		"met: 4 facets batched ≥ 3× 4 sequential runs: 700.0 vs 200.0 tok/s aggregate decode = 3.50×",
		"NOT MET: partial offload (16/33)",
		"met: TTFT after restart from the blob cache ≤ 1.2× a plain file: 1.10 s vs 1.00 s = 1.10×",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
