package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/batos/batos/llama"
	"github.com/batos/batos/vm/plan"
)

// jsonSchema is the grammar benchmark's schema: an object whose string
// field lets a random model write until MaxTokens.
const jsonSchema = `{"type":"object","properties":{"facet":{"type":"string"},"confidence":{"type":"integer"},"thought":{"type":"string"}},"required":["facet","confidence","thought"]}`

const facetText = "You are one facet of the persona. Answer the question in one short paragraph and stay in character. "

type benchFlags struct {
	common
	out         string
	prompt      int
	tokens      int
	reps        int
	switches    int
	batchTokens int
	probe       bool
	grammar     bool
	fa          bool
	plans       int
}

func cmdBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	var f benchFlags
	f.register(fs)
	fs.StringVar(&f.out, "out", "", "write the results as JSON to this file")
	fs.IntVar(&f.prompt, "prompt", 512, "prompt tokens for prefill and decode")
	fs.IntVar(&f.tokens, "tokens", 128, "generated tokens for decode")
	fs.IntVar(&f.reps, "reps", 3, "repetitions of prefill+decode (median)")
	fs.IntVar(&f.switches, "switches", 300, "adapter switches measured")
	fs.IntVar(&f.batchTokens, "batch-tokens", 128, "tokens per facet in the 4-facet test (0: skip)")
	fs.BoolVar(&f.probe, "probe", false, "also time the bare decode loop of ollama's wrapper (Session.DecodeBare)")
	fs.BoolVar(&f.grammar, "grammar", true, "measure decode under a JSON-schema grammar")
	fs.BoolVar(&f.fa, "fa", false, "flash attention")
	fs.IntVar(&f.plans, "plans", 6, "BRICK-style plans under the plan grammar, with jump-forward decoding and without (0: skip)")
	fs.Parse(args)
	res := map[string]any{"ngl": f.ngl, "prompt_tokens": f.prompt, "gen_tokens": f.tokens, "flash_attention": f.fa}
	save := func() {
		if f.out == "" {
			return
		}
		b, _ := json.MarshalIndent(res, "", " ")
		os.WriteFile(f.out, append(b, '\n'), 0o644)
	}
	err := runBench(f, res, save)
	if err != nil {
		res["error"] = err.Error()
	}
	save()
	return err
}

func logf(format string, args ...any) {
	fmt.Printf("[%6.1fs] ", time.Since(start).Seconds())
	fmt.Printf(format+"\n", args...)
}

func runBench(f benchFlags, res map[string]any, save func()) error {
	ctx := context.Background()
	if f.backend != "" {
		t := time.Now()
		if _, err := llama.LoadBackend(f.backend); err != nil {
			return err
		}
		res["backend_load_s"] = time.Since(t).Seconds()
	}
	devs := llama.Devices()
	var devDesc []string
	for _, d := range devs {
		devDesc = append(devDesc, fmt.Sprintf("%s (%s, %s): %.1f/%.1f GiB free", d.Name, d.Description, d.Type, gib(d.FreeMemory), gib(d.TotalMemory)))
	}
	res["devices_before"] = devDesc
	logf("devices: %s", strings.Join(devDesc, "; "))

	t := time.Now()
	m, err := llama.Open(ctx, modelPath(f.dir), llama.ModelOptions{GPULayers: f.ngl, Threads: f.threads})
	if err != nil {
		return err
	}
	defer m.Close()
	res["open_s"] = time.Since(t).Seconds()
	info := m.Info()
	res["model"] = info.Description
	res["model_gib"] = gib(info.Size)
	res["params"] = info.Params
	res["vocab"] = info.VocabSize
	var pl []string
	offloaded := 0
	for _, p := range info.Placement {
		pl = append(pl, fmt.Sprintf("%s:%d", p.Device, p.Layers))
		if p.Device != "CPU" {
			offloaded += p.Layers
		}
	}
	if info.OutputDevice != "CPU" {
		offloaded++
	}
	res["placement"] = strings.Join(pl, " ") + " output:" + info.OutputDevice
	res["offloaded"] = fmt.Sprintf("%d/%d", offloaded, info.Layers+1)
	for _, d := range llama.Devices() {
		if d.Type == llama.DeviceGPU {
			res["gpu"] = d.Description
			res["vram_free_after_load_gib"] = gib(d.FreeMemory)
			res["vram_total_gib"] = gib(d.TotalMemory)
		}
	}
	logf("model %s, %.2f GiB, placement %s, offloaded %s, open %.2fs", info.Description, gib(info.Size), res["placement"], res["offloaded"], res["open_s"])
	save()

	var adapters []*llama.Adapter
	t = time.Now()
	for _, n := range adapterNames {
		a, err := m.LoadAdapter(ctx, adapterPath(f.dir, n), llama.AdapterOptions{Name: n})
		if err != nil {
			return err
		}
		adapters = append(adapters, a)
	}
	res["adapters_load_s"] = time.Since(t).Seconds()

	s, err := m.NewSession(llama.SessionOptions{ContextSize: 2048, FlashAttention: f.fa})
	if err != nil {
		return err
	}
	defer s.Close()
	prompt, err := promptOf(m, f.prompt)
	if err != nil {
		return err
	}
	// Warm-up (CUDA graphs, kernels, allocations).
	if _, err := s.Generate(ctx, llama.Request{Prompt: prompt, MaxTokens: 8}); err != nil {
		return err
	}

	// Prefill and decode, batch 1, greedy, base model. llama_decode
	// returns before the GPU is done (the wait happens in the next sample),
	// so Usage.Prefill is short and Usage.Decode carries the prompt's tail.
	// Wall-clock times of whole requests, as for the Python stack: prefill
	// = one-token request, decode = (N-token request - one-token request)
	// over N-1 tokens.
	var pre, dec, ovh, upre, udec []float64
	for range f.reps {
		r1, w1, err := wallGen(ctx, s, llama.Request{Prompt: prompt, MaxTokens: 1})
		if err != nil {
			return err
		}
		r, wn, err := wallGen(ctx, s, llama.Request{Prompt: prompt, MaxTokens: f.tokens})
		if err != nil {
			return err
		}
		if r.Usage.GeneratedTokens != f.tokens {
			return fmt.Errorf("decode: %d tokens (finish %s), want %d", r.Usage.GeneratedTokens, r.Finish, f.tokens)
		}
		pre = append(pre, float64(r1.Usage.PromptTokens)/w1)
		dec = append(dec, float64(f.tokens-1)/(wn-w1))
		upre = append(upre, float64(r.Usage.PromptTokens)/r.Usage.Prefill.Seconds())
		udec = append(udec, float64(r.Usage.GeneratedTokens-1)/r.Usage.Decode.Seconds())
		ovh = append(ovh, 100*(r.Usage.Decode-r.Usage.Llama).Seconds()/r.Usage.Decode.Seconds())
	}
	res["usage_prefill_tok_s"] = median(upre)
	res["usage_decode_tok_s"] = median(udec)
	res["prefill_tok_s"] = median(pre)
	res["prefill_tok_s_all"] = pre
	res["decode_tok_s"] = median(dec)
	res["decode_tok_s_all"] = dec
	res["decode_overhead_pct"] = median(ovh)
	logf("prefill %.0f tok/s %v; decode %.1f tok/s %v; Go overhead %.2f%%", median(pre), round1(pre), median(dec), round1(dec), median(ovh))
	if f.probe {
		if err := probe(ctx, f, s, prompt, res); err != nil {
			return fmt.Errorf("probe: %w", err)
		}
	}
	save()

	// Decode under an adapter.
	_, a1, err := wallGen(ctx, s, llama.Request{Prompt: prompt, MaxTokens: 1, Adapter: adapters[0]})
	if err != nil {
		return err
	}
	_, an, err := wallGen(ctx, s, llama.Request{Prompt: prompt, MaxTokens: f.tokens, Adapter: adapters[0]})
	if err != nil {
		return err
	}
	res["adapter_decode_tok_s"] = float64(f.tokens-1) / (an - a1)
	res["adapter_prefill_tok_s"] = float64(f.prompt) / a1
	logf("with adapter: prefill %.0f tok/s, decode %.1f tok/s", res["adapter_prefill_tok_s"], res["adapter_decode_tok_s"])
	// Decode with adapters on fewer targets (when gen wrote them).
	for _, ta := range targetAdapters {
		if _, err := os.Stat(adapterPath(f.dir, ta.name)); err != nil {
			continue
		}
		a, err := m.LoadAdapter(ctx, adapterPath(f.dir, ta.name), llama.AdapterOptions{Name: ta.name})
		if err != nil {
			return err
		}
		_, t1, err := wallGen(ctx, s, llama.Request{Prompt: prompt, MaxTokens: 1, Adapter: a})
		if err != nil {
			return err
		}
		_, tn, err := wallGen(ctx, s, llama.Request{Prompt: prompt, MaxTokens: f.tokens, Adapter: a})
		if err != nil {
			return err
		}
		key := "adapter_" + strings.ReplaceAll(ta.name, "-", "_") + "_decode_tok_s"
		res[key] = float64(f.tokens-1) / (tn - t1)
		logf("adapter on %s: decode %.1f tok/s", strings.Join(ta.targets, ","), res[key])
	}

	// Adapter switches: one-token generations cycling the three adapters,
	// against the same generations without a switch.
	var sw, withSw, noSw []float64
	for i := range f.switches {
		t := time.Now()
		r, err := s.Generate(ctx, llama.Request{Prompt: "Hi.", MaxTokens: 1, Adapter: adapters[i%3]})
		if err != nil {
			return err
		}
		withSw = append(withSw, ms(time.Since(t)))
		sw = append(sw, ms(r.Usage.AdapterSwitch))
	}
	for range f.switches / 3 {
		t := time.Now()
		if _, err := s.Generate(ctx, llama.Request{Prompt: "Hi.", MaxTokens: 1, Adapter: adapters[0]}); err != nil {
			return err
		}
		noSw = append(noSw, ms(time.Since(t)))
	}
	res["switch_ms_p50"] = pct(sw, 50)
	res["switch_ms_p99"] = pct(sw, 99)
	res["switch_ms_max"] = pct(sw, 100)
	res["switch_n"] = len(sw)
	res["gen1_with_switch_ms_p50"] = pct(withSw, 50)
	res["gen1_with_switch_ms_p99"] = pct(withSw, 99)
	res["gen1_same_adapter_ms_p50"] = pct(noSw, 50)
	res["gen1_same_adapter_ms_p99"] = pct(noSw, 99)
	logf("adapter switch p50 %.4f ms, p99 %.4f ms (n=%d); 1-token request with switch p50 %.2f ms, same adapter p50 %.2f ms",
		pct(sw, 50), pct(sw, 99), len(sw), pct(withSw, 50), pct(noSw, 50))
	save()

	// Four facets: 4 sequential runs vs 4 sequences of one batch.
	if f.batchTokens > 0 {
		var prompts []string
		for i := range 4 {
			prompts = append(prompts, fmt.Sprintf("Facet %d. %s Question %d: what should the butler do next?", i, facetText, i))
		}
		var seqTok int
		var seqDec, seqAll time.Duration
		var seqTokens [][]llama.Token
		for _, p := range prompts {
			_, w1, err := wallGen(ctx, s, llama.Request{Prompt: p, MaxTokens: 1})
			if err != nil {
				return err
			}
			r, wn, err := wallGen(ctx, s, llama.Request{Prompt: p, MaxTokens: f.batchTokens})
			if err != nil {
				return err
			}
			seqTok += r.Usage.GeneratedTokens
			seqDec += time.Duration((wn - w1) * float64(r.Usage.GeneratedTokens) / float64(r.Usage.GeneratedTokens-1) * 1e9)
			seqAll += time.Duration(wn * 1e9)
			seqTokens = append(seqTokens, r.Tokens)
		}
		b, err := m.NewBatchSession(4, llama.SessionOptions{ContextSize: 4 * 512, FlashAttention: f.fa})
		if err != nil {
			return err
		}
		defer b.Close()
		var reqs []llama.Request
		for _, p := range prompts {
			reqs = append(reqs, llama.Request{Prompt: p, MaxTokens: f.batchTokens})
		}
		if _, _, err := b.GenerateBatch(ctx, reqs); err != nil { // warm-up
			return err
		}
		rs, bu, err := b.GenerateBatch(ctx, reqs)
		if err != nil {
			return err
		}
		same := 0
		for i := range rs {
			if slices.Equal(rs[i].Tokens, seqTokens[i]) {
				same++
			}
		}
		res["facets_prompt_tokens"] = rs[0].Usage.PromptTokens
		res["facets_tokens_each"] = f.batchTokens
		res["seq4_decode_tok_s"] = float64(seqTok) / seqDec.Seconds()
		res["seq4_end_to_end_tok_s"] = float64(seqTok) / seqAll.Seconds()
		res["batch4_decode_tok_s"] = float64(bu.Tokens-len(rs)) / bu.Decode.Seconds() // first tokens come with the prefill
		res["batch4_end_to_end_tok_s"] = float64(bu.Tokens) / (bu.Prefill + bu.Decode).Seconds()
		res["batch4_steps"] = bu.Steps
		res["batch4_same_tokens_as_sequential"] = fmt.Sprintf("%d/4", same)
		logf("4 facets: sequential %.1f tok/s decode (%.1f end to end); batched %.1f tok/s decode (%.1f end to end), %d steps; identical greedy tokens %d/4",
			res["seq4_decode_tok_s"], res["seq4_end_to_end_tok_s"], res["batch4_decode_tok_s"], res["batch4_end_to_end_tok_s"], bu.Steps, same)
		save()
	}

	// Three facets under three different adapters (no shared batch):
	// one after another on one session, then at once on three sessions
	// (their decodes overlap only where the llama package lets sessions
	// decode at once: measured on an H200 with the lock off, 1.85x).
	if f.batchTokens > 0 && len(adapters) >= 3 {
		if err := concurrentFacets(ctx, f, m, s, adapters[:3], res); err != nil {
			return fmt.Errorf("concurrent facets: %w", err)
		}
		save()
	}

	// JSON-schema grammar.
	if f.grammar {
		short, err := promptOf(m, 64)
		if err != nil {
			return err
		}
		var g, ng []float64
		var gtok []int
		var text string
		for range 2 {
			// Token by token (NoJumpForward), as llama.cpp samples: the
			// row compares sampling under a grammar across versions.
			r, err := s.Generate(ctx, llama.Request{Prompt: short, MaxTokens: f.tokens, JSONSchema: jsonSchema, NoJumpForward: true})
			if err != nil {
				return err
			}
			g = append(g, float64(r.Usage.GeneratedTokens-1)/r.Usage.Decode.Seconds())
			gtok = append(gtok, r.Usage.GeneratedTokens)
			text = r.Text
			r, err = s.Generate(ctx, llama.Request{Prompt: short, MaxTokens: f.tokens})
			if err != nil {
				return err
			}
			ng = append(ng, float64(r.Usage.GeneratedTokens-1)/r.Usage.Decode.Seconds())
		}
		res["grammar_decode_tok_s"] = median(g)
		res["grammar_tokens"] = gtok
		res["grammar_free_decode_tok_s"] = median(ng)
		res["grammar_sample"] = trunc(text, 120)
		logf("JSON-schema grammar: decode %.1f tok/s (%v tokens) vs %.1f tok/s free; sample %q", median(g), gtok, median(ng), trunc(text, 80))
		save()
	}

	if f.plans > 0 {
		if err := plans(ctx, s, f.plans, res); err != nil {
			return fmt.Errorf("plans: %w", err)
		}
		save()
	}

	return nil
}

// concurrentFacets times len(as) greedy facets, each under its own adapter:
// one after another on s, then each on its own session at the same time.
func concurrentFacets(ctx context.Context, f benchFlags, m *llama.Model, s *llama.Session, as []*llama.Adapter, res map[string]any) error {
	reqs := make([]llama.Request, len(as))
	for i, a := range as {
		reqs[i] = llama.Request{Prompt: fmt.Sprintf("Facet %d. %s Question %d: what should the butler do next?", i, facetText, i),
			MaxTokens: f.batchTokens, Adapter: a}
	}
	ss := make([]*llama.Session, len(as))
	for i := range ss {
		var err error
		if ss[i], err = m.NewSession(llama.SessionOptions{ContextSize: 2048, FlashAttention: f.fa}); err != nil {
			return err
		}
		defer ss[i].Close()
	}
	run := func(concurrent bool) ([][]llama.Token, int, float64, error) {
		out := make([][]llama.Token, len(reqs))
		errs := make([]error, len(reqs))
		toks := make([]int, len(reqs))
		t := time.Now()
		var wg sync.WaitGroup
		for i, req := range reqs {
			gen := func() {
				sess := s
				if concurrent {
					sess = ss[i]
				}
				r, err := sess.Generate(ctx, req)
				out[i], toks[i], errs[i] = r.Tokens, r.Usage.GeneratedTokens, err
			}
			if !concurrent {
				gen()
				continue
			}
			wg.Add(1)
			go func() { defer wg.Done(); gen() }()
		}
		wg.Wait()
		took := time.Since(t).Seconds()
		n := 0
		for _, k := range toks {
			n += k
		}
		return out, n, took, errors.Join(errs...)
	}
	if _, _, _, err := run(true); err != nil { // warm-up of the new sessions
		return err
	}
	seq, seqTok, seqS, err := run(false)
	if err != nil {
		return err
	}
	con, conTok, conS, err := run(true)
	if err != nil {
		return err
	}
	same := 0
	for i := range seq {
		if slices.Equal(seq[i], con[i]) {
			same++
		}
	}
	res["adapters3_sequential_tok_s"] = float64(seqTok) / seqS
	res["adapters3_concurrent_tok_s"] = float64(conTok) / conS
	res["adapters3_sequential_s"] = seqS
	res["adapters3_concurrent_s"] = conS
	res["adapters3_same_tokens"] = fmt.Sprintf("%d/%d", same, len(seq))
	logf("3 facets under 3 adapters: one after another %.2f s (%.1f tok/s end to end); at once on 3 sessions %.2f s (%.1f tok/s), %.2fx; identical greedy tokens %d/%d",
		seqS, res["adapters3_sequential_tok_s"], conS, res["adapters3_concurrent_tok_s"], seqS/conS, same, len(seq))
	return nil
}

// probe times the bare decode loop of ollama's wrapper on the same session
// (llama.Session.DecodeBare), so that Generate's own per-token cost shows
// against it.
func probe(ctx context.Context, f benchFlags, s *llama.Session, prompt string, res map[string]any) error {
	toks, err := s.Model().Tokenize(prompt, true)
	if err != nil {
		return err
	}
	var rates []float64
	for range 3 {
		out, d, err := s.DecodeBare(ctx, toks, f.tokens)
		if err != nil {
			return err
		}
		rates = append(rates, float64(len(out)-1)/d.Seconds())
	}
	res["probe_decode_tok_s"] = median(rates)
	res["probe_decode_tok_s_all"] = rates
	logf("bare wrapper loop (DecodeBare): decode %.1f tok/s %v", median(rates), round1(rates))
	return nil
}

// wallGen runs a request and returns its wall-clock seconds.
func wallGen(ctx context.Context, s *llama.Session, req llama.Request) (llama.Response, float64, error) {
	t := time.Now()
	r, err := s.Generate(ctx, req)
	return r, time.Since(t).Seconds(), err
}

// promptOf returns a text that tokenizes to n tokens (BOS included).
func promptOf(m *llama.Model, n int) (string, error) {
	var b strings.Builder
	for b.Len() < 8*n {
		b.WriteString(facetText)
	}
	text := b.String()
	lo, hi := 1, len(text)
	for lo < hi { // shortest prefix with at least n tokens
		mid := (lo + hi) / 2
		toks, err := m.Tokenize(text[:mid], true)
		if err != nil {
			return "", err
		}
		if len(toks) >= n {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	toks, err := m.Tokenize(text[:lo], true)
	if err != nil {
		return "", err
	}
	if len(toks) != n {
		return "", fmt.Errorf("prompt: %d tokens, want %d", len(toks), n)
	}
	return text[:lo], nil
}

func gib(b uint64) float64       { return float64(b) / (1 << 30) }
func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
func median(v []float64) float64 { return pct(v, 50) }
func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// pct is the p-th percentile (nearest rank) of v.
func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func round1(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(int(x*10+0.5)) / 10
	}
	return out
}

// planPersonas are the personas BRICK's plans choose from.
var planPersonas = []string{"BRICK", "ROBIN", "BABS", "ALFRED"}

// plans generates n BRICK-style plans (greedy, under the VM's plan
// grammar, different missions) with jump-forward decoding and without,
// and records each way's wall time per plan, tokens and forced tokens.
func plans(ctx context.Context, s *llama.Session, n int, res map[string]any) error {
	g := plan.Grammar(planPersonas)
	max := plan.MaxTokens(planPersonas)
	var wall [2][]float64
	var toks, forced [2]int
	valid := [2]int{}
	for i := range n {
		prompt := fmt.Sprintf("You are BRICK. Decompose the mission into facets for the personas %s. Mission %d: teach the object the selector describe_%d.", strings.Join(planPersonas, ", "), i, i)
		for k, off := range []bool{false, true} {
			r, w, err := wallGen(ctx, s, llama.Request{Prompt: prompt, Grammar: g, MaxTokens: max, NoJumpForward: off})
			if err != nil {
				return err
			}
			wall[k] = append(wall[k], w*1000)
			toks[k] += r.Usage.GeneratedTokens
			forced[k] += r.Usage.ForcedTokens
			if _, err := plan.Parse(r.Text, planPersonas); err == nil {
				valid[k]++
			}
		}
	}
	res["plan_n"] = n
	res["plan_jf_ms_p50"] = pct(wall[0], 50)
	res["plan_jf_ms_all"] = round1(wall[0])
	res["plan_nojf_ms_p50"] = pct(wall[1], 50)
	res["plan_nojf_ms_all"] = round1(wall[1])
	res["plan_jf_tokens"] = toks[0]
	res["plan_jf_forced"] = forced[0]
	res["plan_nojf_tokens"] = toks[1]
	res["plan_valid"] = fmt.Sprintf("%d/%d with, %d/%d without", valid[0], n, valid[1], n)
	res["plan_speedup"] = sum(wall[1]) / sum(wall[0])
	logf("plans: jump-forward p50 %.1f ms (%d tokens, %d forced) vs %.1f ms without (%d tokens): %.2fx; valid %s",
		pct(wall[0], 50), toks[0], forced[0], pct(wall[1], 50), toks[1], res["plan_speedup"], res["plan_valid"])
	return nil
}

func sum(v []float64) float64 {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t
}
