package llama

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/batos/batos/gbnf"
	"github.com/batos/batos/llama/gguf"
)

// The benchmarks run on a generated mid-size model (8 layers, 512 wide,
// Q4_K, 32,000-token vocabulary), cached in $TMPDIR/batos-llama-bench.
// BENCH_THREADS sets the thread count (default 1).

var bench struct {
	once         sync.Once
	model, a, b  string
	err          error
	modelOptions gguf.LlamaOptions
}

func midModel(tb testing.TB) (model, loraA, loraB string) {
	tb.Helper()
	bench.once.Do(func() {
		dir := filepath.Join(os.TempDir(), "batos-llama-bench")
		if bench.err = os.MkdirAll(dir, 0o755); bench.err != nil {
			return
		}
		o := gguf.LlamaOptions{Layers: 8, Embd: 512, Heads: 8, HeadsKV: 2, FF: 1536, Ctx: 4096,
			Vocab: 32000, Type: gguf.Q4_K, Seed: 1, Name: "mid-q4k"}
		bench.modelOptions = o
		bench.model = filepath.Join(dir, "mid-q4k-v1.gguf")
		bench.a = filepath.Join(dir, "mid-lora-a-v1.gguf")
		bench.b = filepath.Join(dir, "mid-lora-b-v1.gguf")
		for _, f := range []struct {
			path  string
			write func(string) error
		}{
			{bench.model, func(p string) error { return gguf.WriteLlama(p, o) }},
			{bench.a, func(p string) error { return gguf.WriteLoRA(p, o, gguf.LoRAOptions{Rank: 16, Seed: 1}) }},
			{bench.b, func(p string) error { return gguf.WriteLoRA(p, o, gguf.LoRAOptions{Rank: 16, Seed: 2}) }},
		} {
			if _, err := os.Stat(f.path); err == nil {
				continue
			}
			if bench.err = f.write(f.path); bench.err != nil {
				return
			}
		}
	})
	if bench.err != nil {
		tb.Fatal(bench.err)
	}
	return bench.model, bench.a, bench.b
}

// cpuTime is the process's user+system CPU time. On a machine shared with
// other busy processes it measures the cost of a token better than the
// wall clock (with one thread).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchThreads() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("BENCH_THREADS"), &n); err != nil || n <= 0 {
		return 1
	}
	return n
}

func openMid(b *testing.B) (*Model, *Session) {
	b.Helper()
	path, _, _ := midModel(b)
	m, err := Open(context.Background(), path, ModelOptions{Threads: benchThreads()})
	if err != nil {
		b.Fatal(err)
	}
	s, err := m.NewSession(SessionOptions{ContextSize: 1024})
	if err != nil {
		m.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		s.Close()
		m.Close()
	})
	return m, s
}

// benchPrompt is about 256 byte tokens.
var benchPrompt = func() string {
	s := ""
	for len(s) < 250 {
		s += "The quick brown fox jumps over the lazy dog. "
	}
	return s[:250]
}()

// BenchmarkPrefill evaluates a 256-token prompt per iteration.
func BenchmarkPrefill(b *testing.B) {
	_, s := openMid(b)
	ctx := context.Background()
	var tokens int
	var d time.Duration
	cpu := cpuTime()
	for b.Loop() {
		resp, err := s.Generate(ctx, Request{Prompt: benchPrompt, MaxTokens: 1})
		if err != nil {
			b.Fatal(err)
		}
		tokens += resp.Usage.PromptTokens
		d += resp.Usage.Prefill
	}
	cpu = cpuTime() - cpu
	b.ReportMetric(float64(tokens)/d.Seconds(), "prefill-tok/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(tokens), "cpu-µs/token")
}

func benchDecode(b *testing.B, req Request) {
	_, s := openMid(b)
	ctx := context.Background()
	var u Usage
	cpu := cpuTime()
	for b.Loop() {
		resp, err := s.Generate(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		u.GeneratedTokens += resp.Usage.GeneratedTokens
		u.Decode += resp.Usage.Decode
		u.Llama += resp.Usage.Llama
	}
	cpu = cpuTime() - cpu
	b.ReportMetric(float64(cpu.Microseconds())/float64(u.GeneratedTokens), "cpu-µs/token")
	b.ReportMetric(float64(u.GeneratedTokens)/u.Decode.Seconds(), "decode-tok/s")
	b.ReportMetric(float64(u.Decode.Microseconds())/float64(u.GeneratedTokens), "µs/token")
	b.ReportMetric(100*float64(u.Decode-u.Llama)/float64(u.Decode), "overhead-%")
}

// BenchmarkDecode samples 64 tokens (temperature 0.8, top-k 40).
func BenchmarkDecode(b *testing.B) {
	benchDecode(b, Request{Prompt: "Once upon a time", MaxTokens: 64, Temperature: 0.8, Seed: 1})
}

// BenchmarkDecodeGreedy samples 64 tokens greedily.
func BenchmarkDecodeGreedy(b *testing.B) {
	benchDecode(b, Request{Prompt: "Once upon a time", MaxTokens: 64})
}

// BenchmarkDecodeMethodGrammar generates under a small method grammar
// built with package gbnf.
func BenchmarkDecodeMethodGrammar(b *testing.B) {
	g := gbnf.New()
	g.Rule("root", gbnf.Seq{gbnf.Lit("def display_yourself(self):\n    return "), gbnf.Ref("term"),
		gbnf.Rep{Node: gbnf.Seq{gbnf.Lit(" + "), gbnf.Ref("term")}, Min: 0, Max: 5}, gbnf.Lit("\n")})
	g.Rule("term", gbnf.Alt{gbnf.Lit("self.repr()"), gbnf.Lit("str(self.oid())"),
		gbnf.Seq{gbnf.Lit(`"`), gbnf.Rep{Node: gbnf.Class("abcdefghijklmnopqrstuvwxyz .,:!?"), Min: 0, Max: 48}, gbnf.Lit(`"`)}})
	benchDecode(b, Request{Prompt: "Once upon a time", MaxTokens: 64, Temperature: 0.8, Seed: 1, Grammar: g.String()})
}

// BenchmarkDecodeJSONGrammar generates under a JSON-schema grammar.
func BenchmarkDecodeJSONGrammar(b *testing.B) {
	benchDecode(b, Request{Prompt: "Once upon a time", MaxTokens: 64, Temperature: 0.8, Seed: 1,
		JSONSchema: `{"type":"object","properties":{"goal":{"type":"string"},"steps":{"type":"array","items":{"type":"string"}}},"required":["goal","steps"]}`})
}

// BenchmarkAdapterSwitch times the switch between two resident adapters in
// one session (remove the old, set the new), and reports p50 and p99.
func BenchmarkAdapterSwitch(b *testing.B) {
	m, s := openMid(b)
	_, pa, pb := midModel(b)
	ctx := context.Background()
	a1, err := m.LoadAdapter(ctx, pa, AdapterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	a2, err := m.LoadAdapter(ctx, pb, AdapterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer a1.Close()
	defer a2.Close()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		a := a1
		if i%2 == 1 {
			a = a2
		}
		i++
		t := time.Now()
		if err := s.setAdapter(a); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t))
	}
	s.setAdapter(nil)
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkAdapterRequest compares short requests (16 prompt tokens, 4
// generated) that alternate between two adapters in one session
// (clear-on-swap) with requests that keep one adapter per session (what
// an Engine with a session per persona does).
func BenchmarkAdapterRequest(b *testing.B) {
	for _, mode := range []string{"same-adapter", "alternate"} {
		b.Run(mode, func(b *testing.B) {
			m, s := openMid(b)
			_, pa, pb := midModel(b)
			ctx := context.Background()
			a1, err := m.LoadAdapter(ctx, pa, AdapterOptions{})
			if err != nil {
				b.Fatal(err)
			}
			a2, err := m.LoadAdapter(ctx, pb, AdapterOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer a1.Close()
			defer a2.Close()
			var lat []time.Duration
			i := 0
			for b.Loop() {
				a := a1
				if mode == "alternate" && i%2 == 1 {
					a = a2
				}
				i++
				t := time.Now()
				if _, err := s.Generate(ctx, Request{Prompt: benchPrompt[:15], MaxTokens: 4, Adapter: a}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t))
			}
			s.setAdapter(nil)
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkEmbedder embeds 64 sentences per op with a generated model of
// all-MiniLM-L6-v2's shape (6 layers, 384 wide, F16), packed into
// decodes as the catalog's Embed calls are, against the same sentences
// through the mid-size chat model's Session.Embed (the catalog's
// fallback).
func BenchmarkEmbedder(b *testing.B) {
	var sents []string
	for i := range 64 {
		sents = append(sents, fmt.Sprintf("Sentence %d of the benchmark says something about the living image and its objects.", i))
	}
	b.Run("minilm", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "minilm.gguf")
		if err := gguf.WriteBERT(path, gguf.MiniLMShape()); err != nil {
			b.Fatal(err)
		}
		e, err := OpenEmbedder(context.Background(), path, EmbedderOptions{Threads: benchThreads()})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		b.ResetTimer()
		for b.Loop() {
			if _, err := e.Embed(context.Background(), sents); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(sents)*b.N)/b.Elapsed().Seconds(), "sentences/s")
	})
	b.Run("chat-mid", func(b *testing.B) {
		_, s := openMid(b)
		b.ResetTimer()
		for b.Loop() {
			if _, err := s.Embed(context.Background(), sents); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(sents)*b.N)/b.Elapsed().Seconds(), "sentences/s")
	})
}

// BenchmarkGrammarSampling decodes under a method-like grammar on a model
// with Llama 3.1's vocabulary size (128,256 tokens; 2 small layers, so
// that sampling, not the matrices, is what varies), with the package's
// best-first filtering of a refused token's candidates (through the
// vocabulary index, or through llama.cpp's filter) against filtering the
// whole vocabulary as llama.cpp does, and jump-forward decoding on and
// off. Reports generated tokens per second and the sampling share.
func BenchmarkGrammarSampling(b *testing.B) {
	m := openVocab128k(b)
	s, err := m.NewSession(SessionOptions{ContextSize: 1024})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const grammar = `root ::= "def describe_state(self):\n" body
body ::= set set? "    self._p_changed = True\n" ret?
set ::= "    self." attr " = " expr "\n"
ret ::= "    return " expr "\n"
expr ::= term (" + " term)?
term ::= "self." attr | [0-9] [0-9]? | "\"" [a-z ]{1,12} "\""
attr ::= [a-z] [a-z0-9_]{0,8}
`
	for _, c := range []struct {
		name                      string
		exhaustive, nojf, noIndex bool
	}{
		{"best-first+jump-forward", false, false, false},
		{"best-first", false, true, false},
		{"best-first-llama-filter", false, true, true},
		{"whole-vocabulary", true, true, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			grammarExhaustive, grammarNoIndex = c.exhaustive, c.noIndex
			defer func() { grammarExhaustive, grammarNoIndex = false, false }()
			var tokens, forced, resampled int
			var sample, decode time.Duration
			seed := uint32(0)
			for b.Loop() {
				r, err := s.Generate(context.Background(), Request{Prompt: "Write the method.", Grammar: grammar,
					MaxTokens: 120, Temperature: 1, Seed: seed, NoJumpForward: c.nojf})
				if err != nil {
					b.Fatal(err)
				}
				seed++
				tokens += r.Usage.GeneratedTokens
				forced += r.Usage.ForcedTokens
				resampled += r.Usage.GrammarResampled
				sample += r.Usage.Sample
				decode += r.Usage.Decode
			}
			b.ReportMetric(float64(tokens)/decode.Seconds(), "tok/s")
			b.ReportMetric(100*sample.Seconds()/decode.Seconds(), "%sampling")
			b.ReportMetric(float64(forced)/float64(tokens), "forced/tok")
			b.ReportMetric(float64(resampled)/float64(tokens-forced), "resampled/sampled")
		})
	}
}

// BenchmarkVocabIndex times building the vocabulary index the grammar
// filter reads (decoded tokens and their trie), which the first request
// with a grammar on a model pays: Llama 3.1's vocabulary size (128,256
// tokens of the generated byte vocabulary).
func BenchmarkVocabIndex(b *testing.B) {
	m := openVocab128k(b)
	for b.Loop() {
		ix := cVocabIndexNew(m.vocab)
		if ix == nil {
			b.Fatal("no index")
		}
		cVocabIndexFree(ix)
	}
}

// openVocab128k opens (generating it once) a 2-layer model with Llama
// 3.1's vocabulary size, 128,256 tokens; it is closed when b ends.
func openVocab128k(b *testing.B) *Model {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "batos-llama-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "vocab128k-v1.gguf")
	if _, err := os.Stat(path); err != nil {
		o := gguf.LlamaOptions{Layers: 2, Embd: 256, Heads: 4, HeadsKV: 2, FF: 512, Ctx: 2048,
			Vocab: 128256, Type: gguf.Q4_K, Seed: 3, Name: "vocab128k"}
		if err := gguf.WriteLlama(path, o); err != nil {
			b.Fatal(err)
		}
	}
	m, err := Open(context.Background(), path, ModelOptions{Threads: benchThreads()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}
