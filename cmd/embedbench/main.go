// Command embedbench measures catalog ingestion with a sentence embedding
// model (llama.Embedder on a generated all-MiniLM-L6-v2-shaped BERT)
// against the chat-model fallback (llama.Session.Embed on generated Llama
// models: the demo's and an 8-layer one): sentences embedded per second,
// total ingest time and index size, on a public-domain text. It prints
// Markdown.
//
//	go run ./cmd/embedbench -bytes 262144
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"

	"github.com/batos/batos/catalog"
	"github.com/batos/batos/llama"
	"github.com/batos/batos/llama/gguf"
	"github.com/batos/batos/object"
)

var (
	textFile = flag.String("text", "/root/go/pkg/mod/github.com/ollama/ollama@v0.6.5/model/testdata/war-and-peace.txt", "public-domain text to ingest")
	nBytes   = flag.Int("bytes", 1<<20, "bytes of the text to ingest (from its start, cut at a paragraph)")
	docBytes = flag.Int("doc", 64<<10, "bytes per ingested document (cut at paragraphs)")
	threads  = flag.Int("threads", 2, "llama.cpp threads")
	models   = flag.String("models", "bert,demo,chat8", "embedders to measure: bert, demo, chat8")
	limits   = flag.String("limit", "", "per-model byte limits, e.g. chat8=65536 (the rest of -bytes is not ingested for that model)")
	dir      = flag.String("dir", filepath.Join(os.TempDir(), "batos-embedbench"), "where generated models and stores go")
)

func main() {
	flag.Parse()
	log.SetFlags(0)
	raw, err := os.ReadFile(*textFile)
	if err != nil {
		log.Fatal(err)
	}
	text := cut(string(raw), *nBytes)
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	limit := map[string]int{}
	for _, kv := range strings.Split(*limits, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			var n int
			fmt.Sscan(v, &n)
			limit[k] = n
		}
	}
	fmt.Printf("Text: %s, first %d bytes (%d sentences). Threads %d. Documents of %d bytes.\n\n",
		filepath.Base(*textFile), len(text), len(catalog.Sentences(text)), *threads, *docBytes)
	fmt.Println("| embedder | dims | bytes ingested | sentences | texts embedded | tokens embedded | embed s | texts/s | sentences/s (ingest) | ingest s | ingest CPU s | sentences per CPU s | chunks | image MiB |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, name := range strings.Split(*models, ",") {
		t := text
		if n := limit[name]; n > 0 {
			t = cut(text, n)
		}
		if err := run(name, t); err != nil {
			log.Fatalf("%s: %v", name, err)
		}
	}
}

// cut returns the text up to n bytes, ending at a paragraph.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	if i := strings.LastIndex(s, "\n\n"); i > n/2 {
		s = s[:i]
	}
	return s
}

// embedder is what the catalog embeds with, and how many tokens a text
// costs it.
type embedder interface {
	catalog.Embedder
	tokens(text string) int
}

type bertEmb struct{ *llama.Embedder }

func (b bertEmb) tokens(t string) int { toks, _ := b.Tokenize(t); return len(toks) }

type chatEmb struct {
	m *llama.Model
	s *llama.Session
}

func (c chatEmb) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return c.s.Embed(ctx, texts)
}
func (c chatEmb) tokens(t string) int { toks, _ := c.m.Tokenize(t, true); return len(toks) }

// counting counts what the catalog asks of the embedder.
type counting struct {
	e             embedder
	texts, tokens atomic.Int64
	nanos         atomic.Int64
}

func (c *counting) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	t0 := time.Now()
	v, err := c.e.Embed(ctx, texts)
	c.nanos.Add(int64(time.Since(t0)))
	c.texts.Add(int64(len(texts)))
	for _, t := range texts {
		c.tokens.Add(int64(c.e.tokens(t)))
	}
	return v, err
}

func open(ctx context.Context, name, text string) (embedder, func(), error) {
	switch name {
	case "bert":
		o := gguf.MiniLMShape()
		o.Words = topWords(text, 30522-gguf.BaseVocabSize())
		path := filepath.Join(*dir, "minilm.gguf")
		if err := gguf.WriteBERT(path, o); err != nil {
			return nil, nil, err
		}
		e, err := llama.OpenEmbedder(ctx, path, llama.EmbedderOptions{Threads: *threads, MaxTokens: 256})
		if err != nil {
			return nil, nil, err
		}
		return bertEmb{e}, func() { e.Close() }, nil
	case "demo", "chat8":
		o := gguf.TinyLlama()
		if name == "chat8" {
			o = gguf.LlamaOptions{Layers: 8, Embd: 512, Heads: 8, HeadsKV: 2, FF: 1536, Ctx: 4096, Vocab: 32000, Type: gguf.Q4_K, Seed: 1}
		}
		path := filepath.Join(*dir, name+".gguf")
		if err := gguf.WriteLlama(path, o); err != nil {
			return nil, nil, err
		}
		m, err := llama.Open(ctx, path, llama.ModelOptions{Threads: *threads})
		if err != nil {
			return nil, nil, err
		}
		s, err := m.NewSession(llama.SessionOptions{ContextSize: 4096})
		if err != nil {
			m.Close()
			return nil, nil, err
		}
		return chatEmb{m, s}, func() { s.Close(); m.Close() }, nil
	}
	return nil, nil, fmt.Errorf("unknown embedder %q", name)
}

// topWords returns the n most frequent lower-case words of text.
func topWords(text string, n int) []string {
	count := map[string]int{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		count[w]++
	}
	words := make([]string, 0, len(count))
	for w := range count {
		words = append(words, w)
	}
	sort.Slice(words, func(i, j int) bool {
		if count[words[i]] != count[words[j]] {
			return count[words[i]] > count[words[j]]
		}
		return words[i] < words[j]
	})
	return words[:min(n, len(words))]
}

func run(name, text string) error {
	ctx := context.Background()
	e, closeEmb, err := open(ctx, name, text)
	if err != nil {
		return err
	}
	defer closeEmb()
	ce := &counting{e: e}
	db := filepath.Join(*dir, "store-"+name)
	os.RemoveAll(db)
	s, err := object.Open(db, object.Options{NoSync: true})
	if err != nil {
		return err
	}
	cat := catalog.New(ce, catalog.Options{EmbedderID: name})
	var docs []string
	for rest := text; rest != ""; {
		d := cut(rest, *docBytes)
		docs = append(docs, d)
		rest = rest[len(d):]
	}
	t0, cpu0 := time.Now(), cpuTime()
	chunks := 0
	for i, d := range docs {
		p, err := cat.Prepare(ctx, fmt.Sprint("doc-", i), d, nil)
		if err != nil {
			return err
		}
		if err := s.Update(ctx, func(tx *object.Tx) error {
			_, err := cat.IndexPrepared(ctx, tx, p)
			return err
		}); err != nil {
			return err
		}
		chunks += p.Chunks()
	}
	ingest, cpu := time.Since(t0), cpuTime()-cpu0
	dims := 0
	if v, err := e.Embed(ctx, []string{"x"}); err == nil {
		dims = len(v[0])
	}
	if err := s.Close(); err != nil {
		return err
	}
	var size int64
	filepath.WalkDir(db, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	sents := len(catalog.Sentences(text))
	embedS := time.Duration(ce.nanos.Load()).Seconds()
	fmt.Printf("| %s | %d | %d | %d | %d | %d | %.1f | %.0f | %.0f | %.1f | %.1f | %.0f | %d | %.1f |\n", name, dims, len(text), sents,
		ce.texts.Load(), ce.tokens.Load(), embedS, float64(ce.texts.Load())/embedS, float64(sents)/ingest.Seconds(),
		ingest.Seconds(), cpu.Seconds(), float64(sents)/cpu.Seconds(), chunks, float64(size)/(1<<20))
	return nil
}

// cpuTime is the process's user and system CPU time: on a machine
// shared with other busy processes it is steadier than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
