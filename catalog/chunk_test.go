package catalog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/batos/batos/catalog"
	"github.com/batos/batos/catalog/catalogtest"
)

// topics are three paragraphs on unrelated subjects, five sentences each;
// every sentence of a topic names its three anchor words, so that the
// hashing test embedder sees each topic as one cluster.
var topics = [][]string{
	{
		"The river carries the fishing boat past the old mill.",
		"Fish swim deep where the river bends and the boat waits.",
		"A boat full of fish drifts down the cold river at dawn.",
		"The fishermen haul fish into the boat on the river.",
		"At dusk the boat returns up the river heavy with fish.",
	},
	{
		"The compiler parses the source code of each function.",
		"Each function in the code is compiled by the compiler to instructions.",
		"The compiler reports an error in the code of a function.",
		"Optimizing compilers inline a small function into the calling code.",
		"The compiler links the code of every function into one program.",
	},
	{
		"Bread dough rises slowly beside the warm oven.",
		"The baker kneads the dough and puts the bread in the oven.",
		"Flour, water and yeast make a bread dough for the oven.",
		"The oven bakes the dough until the bread has a brown crust.",
		"Fresh bread from the oven smells better than raw dough.",
	},
}

func topicText() string {
	var paras []string
	for _, t := range topics {
		paras = append(paras, strings.Join(t, " "))
	}
	return strings.Join(paras, " ")
}

func TestChunkTopicShifts(t *testing.T) {
	tests := []struct {
		method catalog.Threshold
		amount float64
		buffer int
		slack  int // sentences a boundary may be off by
	}{
		{catalog.Percentile, 90, -1, 0},
		{catalog.Percentile, 85, 1, 1}, // a window blurs the jump
		{catalog.StdDev, 1, -1, 0},
		{catalog.Interquartile, 3, -1, 0},
		{catalog.Gradient, 90, -1, 1}, // the gradient peaks next to a jump
	}
	want := 3
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%v/%v/buffer=%d", tc.method, tc.amount, tc.buffer), func(t *testing.T) {
			c := catalog.NewChunker(catalogtest.HashEmbedder{}, catalog.ChunkOptions{
				Threshold: tc.method, Amount: tc.amount, Buffer: tc.buffer, MinChars: -1,
			})
			chunks, err := c.Chunk(context.Background(), topicText())
			if err != nil {
				t.Fatal(err)
			}
			if len(chunks) != want {
				for _, ch := range chunks {
					t.Logf("chunk: %q", ch.Text)
				}
				t.Fatalf("got %d chunks, want %d", len(chunks), want)
			}
			start := 0
			for i, ch := range chunks {
				if start < 5*i-tc.slack || start > 5*i+tc.slack {
					t.Errorf("chunk %d starts at sentence %d, want %d (±%d): %q", i, start, 5*i, tc.slack, ch.Text)
				}
				start += ch.Sentences
			}
		})
	}
}

func TestChunkEdgeCases(t *testing.T) {
	long := strings.Repeat("word ", 300) + "end."
	tests := []struct {
		name      string
		text      string
		opts      catalog.ChunkOptions
		wantN     int
		wantFirst string
	}{
		{"empty", "", catalog.ChunkOptions{}, 0, ""},
		{"blank", " \n\t ", catalog.ChunkOptions{}, 0, ""},
		{"one sentence", "Just one sentence here.", catalog.ChunkOptions{}, 1, "Just one sentence here."},
		{"no punctuation", "no punctuation at all", catalog.ChunkOptions{}, 1, "no punctuation at all"},
		{"invalid utf8", "Bad \xff\xfe bytes. More text.", catalog.ChunkOptions{}, 1, "Bad \uFFFD bytes. More text."},
		{"long sentence cut", long, catalog.ChunkOptions{MaxChars: 100}, 16, strings.TrimSpace(strings.Repeat("word ", 20))},
		{"min merges", topicText(), catalog.ChunkOptions{Amount: 80, MinChars: 10000}, 1, topics[0][0]},
		{"max splits", topicText(), catalog.ChunkOptions{Amount: 99, MaxChars: 200}, 0, topics[0][0]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := catalog.NewChunker(catalogtest.HashEmbedder{}, tc.opts)
			chunks, err := c.Chunk(context.Background(), tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantN > 0 && len(chunks) != tc.wantN {
				t.Fatalf("got %d chunks, want %d: %+v", len(chunks), tc.wantN, chunks)
			}
			if tc.wantN == 0 && tc.wantFirst == "" && len(chunks) != 0 {
				t.Fatalf("got %d chunks, want none", len(chunks))
			}
			if tc.wantFirst != "" && !strings.HasPrefix(chunks[0].Text, tc.wantFirst) {
				t.Errorf("first chunk %q, want prefix %q", chunks[0].Text, tc.wantFirst)
			}
			checkChunks(t, tc.text, chunks, c.Options().MaxChars)
		})
	}
}

// checkChunks asserts the chunker's invariants: valid UTF-8, non-empty,
// within the maximum, and together the whole text in order.
func checkChunks(t *testing.T, text string, chunks []catalog.Chunk, maxChars int) {
	t.Helper()
	var got strings.Builder
	for i, ch := range chunks {
		if !utf8.ValidString(ch.Text) {
			t.Errorf("chunk %d is not valid UTF-8", i)
		}
		if strings.TrimSpace(ch.Text) == "" {
			t.Errorf("chunk %d is blank", i)
		}
		if n := utf8.RuneCountInString(ch.Text); n > maxChars {
			t.Errorf("chunk %d has %d runes, max %d", i, n, maxChars)
		}
		got.WriteString(ch.Text)
	}
	if a, b := stripSpace(got.String()), stripSpace(strings.ToValidUTF8(text, "\uFFFD")); a != b {
		t.Errorf("chunks do not cover the text:\n got %q\nwant %q", a, b)
	}
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func TestChunkDeterministic(t *testing.T) {
	c := catalog.NewChunker(catalogtest.HashEmbedder{Dim: 64}, catalog.ChunkOptions{Amount: 70})
	a, _ := c.Chunk(context.Background(), topicText())
	b, _ := c.Chunk(context.Background(), topicText())
	if len(a) != len(b) {
		t.Fatalf("%d vs %d chunks", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("chunk %d differs", i)
		}
	}
}

func TestFixedChunks(t *testing.T) {
	text := strings.Repeat("abcdefghij", 25) // 250 runes
	chunks := catalog.FixedChunks(text, 100, 20)
	if len(chunks) != 3 {
		t.Fatalf("got %d chunks, want 3", len(chunks))
	}
	if chunks[1].Span.Start != 80 {
		t.Errorf("second chunk starts at %d, want 80", chunks[1].Span.Start)
	}
	for _, ch := range chunks {
		if n := utf8.RuneCountInString(ch.Text); n > 100 {
			t.Errorf("chunk of %d runes", n)
		}
	}
}

func TestTerms(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"The Running dogs ran quickly!", "run dog ran quick"},
		{"", ""},
		{"a the of", ""},
		{"Caf\xe9 r\u00e9sum\u00e9s 42", "caf résumé 42"},
	}
	for _, tc := range tests {
		if got := strings.Join(catalog.Terms(tc.in), " "); got != tc.want {
			t.Errorf("Terms(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzChunk(f *testing.F) {
	f.Add(topicText(), 50)
	f.Add("", 10)
	f.Add("One. Two. Three.", 3)
	f.Add("Bad \xff bytes.\n\nHeading\n\nMr. Smith went. He came back!", 7)
	f.Add(strings.Repeat("x", 500), 40)
	f.Fuzz(func(t *testing.T, text string, maxChars int) {
		maxChars = 1 + int(uint(maxChars)%300)
		for _, th := range []catalog.Threshold{catalog.Percentile, catalog.Gradient} {
			c := catalog.NewChunker(catalogtest.HashEmbedder{Dim: 16}, catalog.ChunkOptions{Threshold: th, MaxChars: maxChars, MinChars: maxChars / 3})
			chunks, err := c.Chunk(context.Background(), text)
			if err != nil {
				t.Fatal(err)
			}
			checkChunks(t, text, chunks, maxChars)
		}
		checkChunks(t, text, catalog.FixedChunks(text, maxChars, 0), maxChars)
	})
}
