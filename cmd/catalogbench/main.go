// Command catalogbench measures the catalog: chunking throughput against
// the fixed-size splitter, retrieval hit rate of semantic versus
// fixed-size chunks, index throughput, and search latency at scale. It
// prints Markdown.
//
//	go run ./cmd/catalogbench -n 100000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/batos/batos/catalog"
	"github.com/batos/batos/catalog/catalogtest"
	"github.com/batos/batos/object"
)

var (
	qualityText = flag.String("quality", "/usr/local/go/src/testdata/Isaac.Newton-Opticks.txt", "public-domain text for chunking and retrieval quality")
	scaleText   = flag.String("scale", "", "public-domain text to sample scale documents from (default: -quality)")
	n           = flag.Int("n", 100000, "chunks to index for the latency benchmark (0 skips it)")
	checkpoints = flag.String("at", "1000,10000", "extra corpus sizes (chunks) at which to measure latency")
	dim         = flag.Int("dim", catalogtest.DefaultDim, "embedding dimension of the test embedder")
	queries     = flag.Int("queries", 300, "queries per latency measurement")
	dbDir       = flag.String("db", "", "store directory (default: a temporary one)")
)

// timedEmbedder records the time spent embedding.
type timedEmbedder struct {
	catalog.Embedder
	ns atomic.Int64
}

func (t *timedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	start := time.Now()
	v, err := t.Embedder.Embed(ctx, texts)
	t.ns.Add(int64(time.Since(start)))
	return v, err
}

func main() {
	flag.Parse()
	ctx := context.Background()
	text, err := os.ReadFile(*qualityText)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("# catalog benchmarks\n\n%s, GOMAXPROCS=%d, %s, test embedder: HashEmbedder dim %d\n\n", runtime.Version(), runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339), *dim)
	avg := chunking(ctx, string(text))
	quality(ctx, string(text), avg)
	if *n > 0 {
		src := text
		if *scaleText != "" {
			if src, err = os.ReadFile(*scaleText); err != nil {
				log.Fatal(err)
			}
		}
		scale(ctx, string(src))
	}
}

// chunking compares semantic chunking (excluding embedding time) with the
// fixed-size splitter; it returns the mean semantic chunk size in runes.
func chunking(ctx context.Context, text string) int {
	fmt.Printf("## Chunking throughput (%s, %d bytes)\n\n", *qualityText, len(text))
	start := time.Now()
	sents := catalog.Sentences(text)
	split := time.Since(start)
	emb := &timedEmbedder{Embedder: catalogtest.HashEmbedder{Dim: *dim}}
	fmt.Println("| splitter | chunks | mean runes | time | time excl. embedding | sentences/s excl. embedding |")
	fmt.Println("|---|---|---|---|---|---|")
	avg := 0
	for _, th := range []catalog.Threshold{catalog.Percentile, catalog.StdDev, catalog.Interquartile, catalog.Gradient} {
		emb.ns.Store(0)
		c := catalog.NewChunker(emb, catalog.ChunkOptions{Threshold: th})
		start := time.Now()
		chunks, err := c.Chunk(ctx, text)
		if err != nil {
			log.Fatal(err)
		}
		total := time.Since(start)
		excl := total - time.Duration(emb.ns.Load())
		m := meanRunes(chunks)
		if th == catalog.Percentile {
			avg = m
		}
		fmt.Printf("| semantic %v | %d | %d | %v | %v | %.0f |\n", th, len(chunks), m, total.Round(time.Millisecond), excl.Round(time.Millisecond), float64(len(sents))/excl.Seconds())
	}
	start = time.Now()
	const reps = 20
	var fixed []catalog.Chunk
	for range reps {
		fixed = catalog.FixedChunks(text, avg, 0)
	}
	ft := time.Since(start) / reps
	fmt.Printf("| fixed %d runes | %d | %d | %v | %v | %.0f |\n\n", avg, len(fixed), meanRunes(fixed), ft.Round(time.Microsecond), ft.Round(time.Microsecond), float64(len(sents))/ft.Seconds())
	fmt.Printf("%d sentences; sentence splitting alone took %v (%.0f sentences/s).\n\n", len(sents), split.Round(time.Millisecond), float64(len(sents))/split.Seconds())
	return avg
}

func meanRunes(chunks []catalog.Chunk) int {
	if len(chunks) == 0 {
		return 0
	}
	t := 0
	for _, c := range chunks {
		t += utf8.RuneCountInString(c.Text)
	}
	return t / len(chunks)
}

// question is a query built from one sentence of the text; it hits when a
// retrieved chunk covers the sentence's midpoint.
type question struct {
	query string
	mid   int
}

// questions picks every 7th sentence with at least 10 words and keeps every
// other word longer than three letters as the query.
func questions(text string) []question {
	var qs []question
	for i, sp := range catalog.Sentences(text) {
		if i%7 != 0 {
			continue
		}
		words := strings.Fields(text[sp.Start:sp.End])
		if len(words) < 10 {
			continue
		}
		var kept []string
		for j, w := range words {
			if j%2 == 0 && utf8.RuneCountInString(w) > 3 {
				kept = append(kept, w)
			}
		}
		qs = append(qs, question{strings.Join(kept, " "), (sp.Start + sp.End) / 2})
	}
	return qs
}

func quality(ctx context.Context, text string, avg int) {
	text = strings.ToValidUTF8(text, "\uFFFD")
	qs := questions(text)
	fmt.Printf("## Retrieval quality (%s)\n\n", *qualityText)
	fmt.Printf("%d questions: every 7th sentence of at least 10 words, query = every other word longer than 3 letters; a hit when a top-k chunk contains the sentence's midpoint. Fixed-size chunks have the mean size of the semantic ones (%d runes), no overlap.\n\n", len(qs), avg)
	fmt.Println("| chunks | mode | hit@1 | hit@5 |")
	fmt.Println("|---|---|---|---|")
	emb := catalogtest.HashEmbedder{Dim: *dim}
	for _, sp := range []struct {
		name string
		s    catalog.Splitter
	}{
		{"semantic percentile", catalog.NewChunker(emb, catalog.ChunkOptions{})},
		{"semantic gradient", catalog.NewChunker(emb, catalog.ChunkOptions{Threshold: catalog.Gradient})},
		{fmt.Sprintf("fixed %d", avg), catalog.FixedSplitter{Size: avg}},
	} {
		chunks, err := sp.s.Chunk(ctx, text)
		if err != nil {
			log.Fatal(err)
		}
		dir, err := os.MkdirTemp("", "catalogbench-q")
		if err != nil {
			log.Fatal(err)
		}
		store, err := object.Open(dir, object.Options{NoSync: true})
		if err != nil {
			log.Fatal(err)
		}
		cat := catalog.New(emb, catalog.Options{Splitter: sp.s})
		if err := cat.Load(ctx, store); err != nil {
			log.Fatal(err)
		}
		err = store.Update(ctx, func(tx *object.Tx) error {
			_, err := cat.Index(ctx, tx, "opticks", text, nil)
			return err
		})
		if err != nil {
			log.Fatal(err)
		}
		for _, mode := range []catalog.Mode{catalog.BM25, catalog.Vector, catalog.Hybrid} {
			hit1, hit5 := 0, 0
			err := store.View(ctx, func(tx *object.Tx) error {
				for _, q := range qs {
					res, err := cat.Search(ctx, tx, catalog.Query{Text: q.query, Mode: mode, Limit: 5})
					if err != nil {
						return err
					}
					for r, x := range res {
						c := chunks[x.Chunk].Span
						if c.Start <= q.mid && q.mid < c.End {
							if r == 0 {
								hit1++
							}
							hit5++
							break
						}
					}
				}
				return nil
			})
			if err != nil {
				log.Fatal(err)
			}
			fmt.Printf("| %s (%d chunks) | %v | %.3f | %.3f |\n", sp.name, len(chunks), mode, float64(hit1)/float64(len(qs)), float64(hit5)/float64(len(qs)))
		}
		store.Close()
		os.RemoveAll(dir)
	}
	fmt.Println()
}

func scale(ctx context.Context, text string) {
	dir := *dbDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "catalogbench"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	store, err := object.Open(dir, object.Options{NoSync: true})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	emb := catalogtest.HashEmbedder{Dim: *dim}
	// cat keeps an exact in-memory index current while indexing.
	cat := catalog.New(emb, catalog.Options{ANN: catalog.ANNOptions{MinChunks: -1}})
	if err := cat.Load(ctx, store); err != nil {
		log.Fatal(err)
	}
	sents := catalog.Sentences(text)
	rng := rand.New(rand.NewPCG(7, 7))
	doc := func() string {
		start := rng.IntN(len(sents) - 40)
		return text[sents[start].Start:sents[start+30].End]
	}
	var marks []int
	for _, f := range strings.Split(*checkpoints, ",") {
		var x int
		if _, err := fmt.Sscan(f, &x); err == nil && x < *n {
			marks = append(marks, x)
		}
	}
	marks = append(marks, *n)
	fmt.Printf("## Index and search at scale\n\nDocuments: 31 consecutive sentences from a random place in %s, semantic chunking (defaults), 20 documents per transaction, store on disk with NoSync. Search: in-memory index (Load), %d queries (random sentences of the same text), limit 10, one goroutine at a time; each latency includes the View transaction and loading the 10 result objects. \"exact\" is the exact vector scan; \"ivf\" the approximate index (k-means, sqrt(n) lists, scanning the nearest lists until 1/16 or 1/8 of the vectors), with recall@10 against exact.\n\n", *scaleText, *queries)
	fmt.Println("| chunks | docs | index chunks/s (this step) | mode | p50 | p99 | mean | recall@10 |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	total, docs := 0, 0
	for _, mark := range marks {
		start := time.Now()
		added := 0
		for total < mark {
			err := store.Update(ctx, func(tx *object.Tx) error {
				for range 20 {
					k, err := cat.Index(ctx, tx, fmt.Sprint("doc", docs), doc(), map[string]string{"shard": fmt.Sprint(docs % 10)})
					if err != nil {
						return err
					}
					docs++
					added += k
					total += k
				}
				return nil
			})
			if err != nil {
				log.Fatal(err)
			}
		}
		rate := float64(added) / time.Since(start).Seconds()
		exact := map[catalog.Mode][][]object.OID{}
		for _, mode := range []catalog.Mode{catalog.BM25, catalog.Vector, catalog.Hybrid} {
			lat, res := measure(ctx, store, cat, text, sents, mode, nil)
			exact[mode] = res
			fmt.Printf("| %d | %d | %.0f | %v exact | %v | %v | %v | |\n", total, docs, rate, mode, lat[0], lat[1], lat[2])
		}
		lat, _ := measure(ctx, store, cat, text, sents, catalog.Hybrid, map[string]string{"shard": "3"})
		fmt.Printf("| %d | %d | | hybrid, filter 1/10 | %v | %v | %v | |\n", total, docs, lat[0], lat[1], lat[2])

		for _, frac := range []float64{1.0 / 16, 1.0 / 8} {
			approx := catalog.New(emb, catalog.Options{ANN: catalog.ANNOptions{MinChunks: 1, Fraction: frac}})
			start = time.Now()
			if err := approx.Load(ctx, store); err != nil {
				log.Fatal(err)
			}
			loadT := time.Since(start)
			for _, mode := range []catalog.Mode{catalog.Vector, catalog.Hybrid} {
				lat, res := measure(ctx, store, approx, text, sents, mode, nil)
				fmt.Printf("| %d | %d | | %v ivf 1/%.0f | %v | %v | %v | %.3f |\n", total, docs, mode, 1/frac, lat[0], lat[1], lat[2], recall(exact[mode], res))
			}
			fmt.Printf("| %d | %d | | Load with ivf build: %v | | | | |\n", total, docs, loadT.Round(time.Millisecond))
		}
	}
	// The exact scan of the store, for comparison (few queries: it is slow).
	fresh := catalog.New(emb, catalog.Options{})
	saved := *queries
	*queries = 20
	for _, mode := range []catalog.Mode{catalog.BM25, catalog.Vector} {
		lat, _ := measure(ctx, store, fresh, text, sents, mode, nil)
		fmt.Printf("| %d | %d | | %v, store scan (no Load) | %v | %v | %v | |\n", total, docs, mode, lat[0], lat[1], lat[2])
	}
	*queries = saved
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	fmt.Printf("\nGo heap in use after GC with the exact in-memory index at %d chunks: %d MiB.\n\n", total, ms.HeapInuse>>20)
}

// recall is the mean fraction of the exact top results found by approx.
func recall(exact, approx [][]object.OID) float64 {
	sum := 0.0
	for i := range exact {
		if len(exact[i]) == 0 {
			sum++
			continue
		}
		found := 0
		for _, o := range exact[i] {
			if slices.Contains(approx[i], o) {
				found++
			}
		}
		sum += float64(found) / float64(len(exact[i]))
	}
	return sum / float64(len(exact))
}

// measure returns p50, p99 and mean latency of Search, and the results.
func measure(ctx context.Context, store *object.Store, cat *catalog.Catalog, text string, sents []catalog.Span, mode catalog.Mode, filter map[string]string) ([3]time.Duration, [][]object.OID) {
	rng := rand.New(rand.NewPCG(9, uint64(mode)))
	var lat []time.Duration
	var all [][]object.OID
	for range *queries {
		sp := sents[rng.IntN(len(sents))]
		q := catalog.Query{Text: text[sp.Start:sp.End], Mode: mode, Limit: 10, Filter: filter}
		start := time.Now()
		var oids []object.OID
		err := store.View(ctx, func(tx *object.Tx) error {
			res, err := cat.Search(ctx, tx, q)
			for _, r := range res {
				oids = append(oids, r.ChunkOID)
			}
			return err
		})
		if err != nil {
			log.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		all = append(all, oids)
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	return [3]time.Duration{r(lat[len(lat)/2]), r(lat[len(lat)*99/100]), r(sum / time.Duration(len(lat)))}, all
}
