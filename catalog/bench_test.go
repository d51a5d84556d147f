package catalog_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/batos/batos/catalog"
	"github.com/batos/batos/catalog/catalogtest"
	"github.com/batos/batos/object"
)

// benchText is a public-domain text shipped with Go; the benchmarks skip
// without it. cmd/catalogbench measures at scale.
const benchText = "/usr/local/go/src/testdata/Isaac.Newton-Opticks.txt"

func loadBenchText(b *testing.B) string {
	data, err := os.ReadFile(benchText)
	if err != nil {
		b.Skip(err)
	}
	return string(data)
}

func BenchmarkChunk(b *testing.B) {
	text := loadBenchText(b)
	sents := len(catalog.Sentences(text))
	for _, tc := range []struct {
		name string
		s    catalog.Splitter
	}{
		{"semantic", catalog.NewChunker(catalogtest.HashEmbedder{}, catalog.ChunkOptions{})},
		{"fixed", catalog.FixedSplitter{Size: 1500}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := tc.s.Chunk(ctx, text); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(sents*b.N)/b.Elapsed().Seconds(), "sentences/s")
		})
	}
}

func BenchmarkSearch(b *testing.B) {
	text := loadBenchText(b)
	s := openStore(b)
	c := catalog.New(catalogtest.HashEmbedder{}, catalog.Options{Chunk: catalog.ChunkOptions{MaxChars: 300}})
	if err := c.Load(ctx, s); err != nil {
		b.Fatal(err)
	}
	err := s.Update(ctx, func(tx *object.Tx) error {
		_, err := c.Index(ctx, tx, "opticks", text, nil)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []catalog.Mode{catalog.BM25, catalog.Vector, catalog.Hybrid} {
		b.Run(fmt.Sprint(mode), func(b *testing.B) {
			q := catalog.Query{Text: "the refraction of light in a prism", Mode: mode}
			for b.Loop() {
				err := s.View(ctx, func(tx *object.Tx) error {
					_, err := c.Search(ctx, tx, q)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
