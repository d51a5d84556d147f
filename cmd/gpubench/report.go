package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// cmdReport renders the results as Markdown: a side-by-side table and the
// issue's goals, met or not.
func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	out := fs.String("o", "", "Markdown output (also printed)")
	full := fs.String("full", "", "bench JSON, all layers on the GPU")
	partial := fs.String("partial", "", "bench JSON, 16 of 33 layers on the GPU")
	ttft := fs.String("ttft", "", "ttft JSON lines")
	hf := fs.String("hf", "", "hf_baseline.py JSON")
	smi := fs.String("smi", "", "nvidia-smi query output (name, driver)")
	cpu := fs.String("cpu", "", "the host CPU, in words")
	command := fs.String("cmd", "scripts/gpubench.sh", "the command that produced the results")
	notes := fs.String("notes", "", "file of extra lines to append")
	date := fs.String("date", time.Now().UTC().Format("2006-01-02 15:04 MST"), "when the results were measured")
	fs.Parse(args)

	F, P, H := readJSON(*full), readJSON(*partial), readJSON(*hf)
	T := readLines(*ttft)
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }

	w("# GPU benchmark: Llama-3.1-8B-shaped Q4_K model (issue 9)")
	w("")
	w("- Date: %s", *date)
	if s := readText(*smi); s != "" {
		w("- Card and driver (nvidia-smi): %s", s)
	}
	if *cpu != "" {
		w("- Host CPU: %s", *cpu)
	}
	w("- Model: %v, %s GiB, %.2fB parameters, vocabulary %v (random Q4_K blocks from llama/gguf, byte vocabulary padded to Llama 3.1's size; output matrix included); three rank-16 LoRA adapters (7 targets per layer)", F["model"], f2(F["model_gib"]), num(F["params"])/1e9, F["vocab"])
	w("- Python stack: torch %v, transformers %v, peft %v, %v, bf16 random weights, attention %v", H["torch"], H["transformers"], H["peft"], H["device"], H["attn_implementation"])
	w("- Command: `%s`", *command)
	w("")
	w("| measurement | llama package, 33/33 layers on GPU | llama package, %v layers on GPU | transformers + peft (bf16) |", P["offloaded"])
	w("| --- | --- | --- | --- |")
	w("| prefill, 512-token prompt (tok/s; wall clock of a 1-token request / one forward pass) | %s | %s | %s |", f0(F["prefill_tok_s"]), f0(P["prefill_tok_s"]), f0(H["prefill_tok_s"]))
	w("| decode, batch 1, 128 tokens (tok/s; 127 / (t(128 tokens) - t(1 token)), both stacks) | %s | %s | %s |", f1(F["decode_tok_s"]), f1(P["decode_tok_s"]), f1(H["decode_tok_s"]))
	w("| decode by Usage.Decode (first sample to last: includes the prompt's unfinished GPU work) | %s | %s | |", f1(F["usage_decode_tok_s"]), f1(P["usage_decode_tok_s"]))
	w("| decode with a LoRA adapter active (tok/s) | %s | %s | %s |", f1(F["adapter_decode_tok_s"]), f1(P["adapter_decode_tok_s"]), f1(H["adapter_decode_tok_s"]))
	w("| adapter switch p50 / p99 (ms) | %s / %s | %s / %s | %s / %s (set_adapter) |", f4(F["switch_ms_p50"]), f4(F["switch_ms_p99"]), f4(P["switch_ms_p50"]), f4(P["switch_ms_p99"]), f3(H["set_adapter_ms_p50"]), f3(H["set_adapter_ms_p99"]))
	w("| 1-token request, switching adapter / same adapter, p50 (ms) | %s / %s | %s / %s | |", f2(F["gen1_with_switch_ms_p50"]), f2(F["gen1_same_adapter_ms_p50"]), f2(P["gen1_with_switch_ms_p50"]), f2(P["gen1_same_adapter_ms_p50"]))
	w("| decode under a JSON-schema grammar (tok/s; free decode, same prompt) | %s (%s) | %s | |", f1(F["grammar_decode_tok_s"]), f1(F["grammar_free_decode_tok_s"]), orDash(f1(P["grammar_decode_tok_s"])))
	w("| BRICK plan under the plan grammar, greedy: wall ms p50 with / without jump-forward (tokens, forced) | %s / %s (%v, %v forced; %v) | %s / %s | |", f1(F["plan_jf_ms_p50"]), f1(F["plan_nojf_ms_p50"]), F["plan_jf_tokens"], F["plan_jf_forced"], F["plan_valid"], orDash(f1(P["plan_jf_ms_p50"])), orDash(f1(P["plan_nojf_ms_p50"])))
	w("| 4 facets, 4 sequential runs: aggregate decode (end to end) tok/s | %s (%s) | %s (%s) | |", f1(F["seq4_decode_tok_s"]), f1(F["seq4_end_to_end_tok_s"]), f1(P["seq4_decode_tok_s"]), f1(P["seq4_end_to_end_tok_s"]))
	w("| 4 facets, one batch of 4 sequences: aggregate decode (end to end) tok/s | %s (%s) | %s (%s) | %s (generate, batch 4) |", f1(F["batch4_decode_tok_s"]), f1(F["batch4_end_to_end_tok_s"]), f1(P["batch4_decode_tok_s"]), f1(P["batch4_end_to_end_tok_s"]), f1(H["batch4_decode_tok_s"]))
	w("| bare ollama-wrapper loop on the same session (DecodeBare), same span as Usage.Decode (tok/s) | %s | | |", orDash(f1(F["probe_decode_tok_s"])))
	w("| Go-side share of decode time | %s%% | %s%% | |", f2(F["decode_overhead_pct"]), f2(P["decode_overhead_pct"]))
	w("| model load (llama.Open, s) | %s | %s | %s (init on GPU) |", f2(F["open_s"]), f2(P["open_s"]), f2(H["init_s"]))
	w("| placement | %v | %v | |", F["placement"], P["placement"])
	w("| VRAM free after load (GiB) | %s of %s | %s | |", f1(F["vram_free_after_load_gib"]), f1(F["vram_total_gib"]), f1(P["vram_free_after_load_gib"]))
	w("")

	// TTFT.
	modes := map[string][]map[string]any{}
	for _, t := range T {
		m, _ := t["mode"].(string)
		modes[m] = append(modes[m], t)
	}
	var hits []map[string]any
	for _, t := range modes["blob"] {
		if t["stamp_hit"] == true {
			hits = append(hits, t)
		}
	}
	if len(hits) > 0 {
		modes["blob"] = hits
	}
	if len(T) > 0 {
		w("Time to first token after a restart (a fresh process each; model file in the page cache; all layers on the GPU; median of %d; a blob-cache row's first run after the import pays the full hash and writes the stamp, and is not counted when stamp hits follow):", len(modes["plain"]))
		w("")
		w("| start | backend load (s) | store + lookup (s) | verify: stamp or SHA-256 (s) | llama.Open (s) | first token (s) | TTFT from process start (s) |")
		w("| --- | --- | --- | --- | --- | --- | --- |")
		for _, m := range []string{"plain", "blob", "blobfull", "blobpar"} {
			rs := modes[m]
			if len(rs) == 0 {
				continue
			}
			label := map[string]string{
				"plain":    "plain GGUF file",
				"blob":     "living image's blob cache, as vm.MaterializeModel since 8e3d6be (size + verification stamp; no rehash)",
				"blobfull": "blob cache, full SHA-256 on every restart (vm before 8e3d6be)",
				"blobpar":  "blob cache, full SHA-256 concurrently with llama.Open",
			}[m]
			verify := med(rs, "verify_s")
			if m == "blobpar" || m == "blob" && med(rs, "verify_s") == nil {
				verify = med(rs, "verify_wait_s")
			}
			w("| %s | %s | %s | %s | %s | %s | %s |", label, f2(med(rs, "backend_s")), f2(med(rs, "store_s")), f2(verify), f2(med(rs, "open_s")), f2(med(rs, "first_token_s")), f2(med(rs, "ttft_s")))
		}
		w("")
	}

	// Goals.
	w("Goals (issue 9):")
	w("")
	dec, hdec := num(F["decode_tok_s"]), num(H["decode_tok_s"])
	goal := func(ok bool, text string, a ...any) {
		mark := "NOT MET"
		if ok {
			mark = "met"
		}
		w("- %s: %s", mark, fmt.Sprintf(text, a...))
	}
	if dec > 0 && hdec > 0 {
		goal(dec >= 10*hdec, "decode ≥ 10× the Python stack: %.1f vs %.1f tok/s = %.1f×", dec, hdec, dec/hdec)
	}
	if p, u := num(F["probe_decode_tok_s"]), num(F["usage_decode_tok_s"]); p > 0 && u > 0 {
		goal(u >= 0.98*p, "our layer adds ≤ 2%% per token: Generate %.1f vs the bare wrapper loop %.1f tok/s over the same span, same session (%+.1f%%); the issue's earlier probe (H200): 214-225 tok/s", u, p, 100*(u/p-1))
	}
	if s := num(F["switch_ms_p99"]); F["switch_ms_p99"] != nil {
		goal(s <= 1, "adapter switch p99 ≤ 1 ms: %.4f ms (the context's adapter pointer swap); a 1-token request that switches costs %.2f ms p50 against %.2f ms without a switch",
			s, num(F["gen1_with_switch_ms_p50"]), num(F["gen1_same_adapter_ms_p50"]))
	}
	if b4, s4 := num(F["batch4_decode_tok_s"]), num(F["seq4_decode_tok_s"]); b4 > 0 && s4 > 0 {
		goal(b4 >= 3*s4, "4 facets batched ≥ 3× 4 sequential runs: %.1f vs %.1f tok/s aggregate decode = %.2f× (end to end %.2f×)", b4, s4, b4/s4, num(F["batch4_end_to_end_tok_s"])/num(F["seq4_end_to_end_tok_s"]))
		if hdec > 0 {
			goal(b4 >= 30*hdec, "so ≥ 30× the Python stack on DELEGATING's workload: %.1f vs %.1f tok/s = %.1f×", b4, hdec, b4/hdec)
		}
	}
	if pd := num(P["decode_tok_s"]); pd > 0 {
		goal(pd >= 27, "partial offload (%v) ≥ 10× the SSE2 figure (2.7 tok/s): %.1f tok/s = %.1f×", P["offloaded"], pd, pd/2.7)
	}
	if pl, bl := med(modes["plain"], "ttft_s"), med(modes["blob"], "ttft_s"); pl != nil && bl != nil {
		goal(num(bl) <= 1.2*num(pl), "TTFT after restart from the blob cache ≤ 1.2× a plain file: %.2f s vs %.2f s = %.2f×", num(bl), num(pl), num(bl)/num(pl))
		if bf := med(modes["blobfull"], "ttft_s"); bf != nil {
			w("  - with a full SHA-256 on every restart (vm before 8e3d6be): %.2f s = %.2f×", num(bf), num(bf)/num(pl))
		}
		if bp := med(modes["blobpar"], "ttft_s"); bp != nil {
			w("  - with the full SHA-256 overlapping llama.Open: %.2f s = %.2f×", num(bp), num(bp)/num(pl))
		}
	}
	if n := readText(*notes); n != "" {
		w("")
		w("%s", n)
	}
	os.Stdout.Write(b.Bytes())
	if *out != "" {
		return os.WriteFile(*out, b.Bytes(), 0o644)
	}
	return nil
}

func readJSON(path string) map[string]any {
	m := map[string]any{}
	if path == "" {
		return m
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return m
	}
	json.Unmarshal(b, &m)
	return m
}

func readLines(path string) []map[string]any {
	var out []map[string]any
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := map[string]any{}
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func readText(path string) string {
	if path == "" {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// med is the median of a field over results, or nil.
func med(rs []map[string]any, key string) any {
	var v []float64
	for _, r := range rs {
		if x, ok := r[key].(float64); ok {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return nil
	}
	return median(v)
}

func num(v any) float64 {
	x, _ := v.(float64)
	return x
}

func fmtNum(v any, prec int) string {
	x, ok := v.(float64)
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, x)
}

func f0(v any) string { return fmtNum(v, 0) }
func f1(v any) string { return fmtNum(v, 1) }
func f2(v any) string { return fmtNum(v, 2) }
func f3(v any) string { return fmtNum(v, 3) }
func f4(v any) string { return fmtNum(v, 4) }

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
