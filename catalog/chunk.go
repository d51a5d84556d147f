package catalog

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Threshold selects how the semantic chunker turns the distances between
// adjacent sentences into breakpoints (the methods of LangChain's
// SemanticChunker).
type Threshold int

const (
	// Percentile cuts where the cosine distance between adjacent sentence
	// windows exceeds the Amount-th percentile of all distances (default
	// 95). This is the blueprint's method: "cut where similarity falls
	// below the 5th percentile".
	Percentile Threshold = iota
	// StdDev cuts where the distance exceeds mean + Amount standard
	// deviations (default 3).
	StdDev
	// Interquartile cuts where the distance exceeds mean + Amount times the
	// interquartile range (default 1.5).
	Interquartile
	// Gradient cuts where the gradient of the distances exceeds its
	// Amount-th percentile (default 95); suited to texts whose topics
	// drift rather than jump.
	Gradient
)

// String returns the method's name.
func (t Threshold) String() string {
	switch t {
	case Percentile:
		return "percentile"
	case StdDev:
		return "stddev"
	case Interquartile:
		return "interquartile"
	case Gradient:
		return "gradient"
	}
	return fmt.Sprintf("Threshold(%d)", int(t))
}

// ChunkOptions configures a Chunker. The zero value means the defaults.
type ChunkOptions struct {
	// Threshold is the breakpoint method; default Percentile.
	Threshold Threshold
	// Amount parameterizes Threshold; 0 means the method's default (95 for
	// Percentile and Gradient, 3 for StdDev, 1.5 for Interquartile).
	Amount float64
	// Buffer is the number of neighbouring sentences on each side embedded
	// together with a sentence to smooth the distances; 0 means 1, and a
	// negative value means none.
	Buffer int
	// MinChars is the smallest chunk, in characters (runes), that a
	// semantic breakpoint may close; a smaller final chunk is merged into
	// the previous one. 0 means 100; negative means no minimum.
	MinChars int
	// MaxChars is the hard maximum chunk size in characters (runes); longer
	// groups are cut at sentence boundaries and longer sentences at white
	// space (or anywhere, for text without spaces). 0 means 2000.
	MaxChars int
	// BatchSize bounds the number of texts per Embed call; 0 means 32.
	BatchSize int
}

func (o ChunkOptions) withDefaults() ChunkOptions {
	if o.Amount == 0 {
		switch o.Threshold {
		case StdDev:
			o.Amount = 3
		case Interquartile:
			o.Amount = 1.5
		default:
			o.Amount = 95
		}
	}
	if o.Buffer == 0 {
		o.Buffer = 1
	} else if o.Buffer < 0 {
		o.Buffer = 0
	}
	if o.MinChars == 0 {
		o.MinChars = 100
	} else if o.MinChars < 0 {
		o.MinChars = 0
	}
	if o.MaxChars <= 0 {
		o.MaxChars = 2000
	}
	if o.MinChars > o.MaxChars {
		o.MinChars = o.MaxChars
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 32
	}
	return o
}

// Chunk is one piece of a chunked text.
type Chunk struct {
	// Text is the chunk's text: the original text from its first sentence
	// to its last, trimmed of surrounding white space, valid UTF-8.
	Text string
	// Span locates Text in the chunked text (after invalid UTF-8 was
	// replaced by U+FFFD).
	Span Span
	// Sentences is the number of sentences (or sentence pieces) in it.
	Sentences int
}

// Splitter splits a document into chunks. Chunker and FixedSplitter
// implement it.
type Splitter interface {
	Chunk(ctx context.Context, text string) ([]Chunk, error)
}

var (
	_ Splitter = (*Chunker)(nil)
	_ Splitter = FixedSplitter{}
)

// FixedSplitter is a Splitter that calls FixedChunks.
type FixedSplitter struct {
	Size, Overlap int // in characters (runes)
}

// Chunk implements Splitter.
func (f FixedSplitter) Chunk(ctx context.Context, text string) ([]Chunk, error) {
	return FixedChunks(text, f.Size, f.Overlap), ctx.Err()
}

// Chunker splits text into semantically coherent chunks: it splits the
// text into sentences, embeds each sentence with its neighbours, and cuts
// where the cosine distance between adjacent sentences is unusually large,
// within the minimum and maximum chunk sizes.
//
// A Chunker is safe for concurrent use if its Embedder is.
type Chunker struct {
	emb  Embedder
	opts ChunkOptions
}

// NewChunker returns a Chunker that embeds sentences with emb. With a nil
// Embedder it only enforces the maximum size (one chunk per MaxChars).
func NewChunker(emb Embedder, opts ChunkOptions) *Chunker {
	return &Chunker{emb: emb, opts: opts.withDefaults()}
}

// Options returns the Chunker's options with defaults filled in.
func (c *Chunker) Options() ChunkOptions { return c.opts }

// Chunk splits text into chunks. Empty or blank text gives no chunks and no
// error; invalid UTF-8 is replaced by U+FFFD first. The result is
// deterministic for a deterministic Embedder.
func (c *Chunker) Chunk(ctx context.Context, text string) ([]Chunk, error) {
	text = strings.ToValidUTF8(text, "\uFFFD")
	sents := splitLong(text, Sentences(text), c.opts.MaxChars)
	if len(sents) == 0 {
		return nil, nil
	}
	var cuts []bool // cuts[i]: a semantic breakpoint after sentence i
	if len(sents) > 1 && c.emb != nil {
		vecs, err := c.embedWindows(ctx, text, sents)
		if err != nil {
			return nil, err
		}
		cuts = breakpoints(distances(vecs), c.opts.Threshold, c.opts.Amount)
	}
	return group(text, sents, cuts, c.opts.MinChars, c.opts.MaxChars), nil
}

// embedWindows embeds each sentence together with Buffer neighbours on each
// side, in batches of BatchSize.
func (c *Chunker) embedWindows(ctx context.Context, text string, sents []Span) ([][]float32, error) {
	b := c.opts.Buffer
	windows := make([]string, len(sents))
	for i := range sents {
		lo, hi := max(0, i-b), min(len(sents)-1, i+b)
		windows[i] = text[sents[lo].Start:sents[hi].End]
	}
	return embedBatched(ctx, c.emb, windows, c.opts.BatchSize)
}

// embedBatched embeds texts in batches of at most size texts, checking that
// every vector has the same dimension.
func embedBatched(ctx context.Context, emb Embedder, texts []string, size int) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for i := 0; i < len(texts); i += size {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		batch := texts[i:min(len(texts), i+size)]
		vecs, err := emb.Embed(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("catalog: embed: %w", err)
		}
		if len(vecs) != len(batch) {
			return nil, fmt.Errorf("%w: %d vectors for %d texts", ErrDimension, len(vecs), len(batch))
		}
		for _, v := range vecs {
			if len(v) == 0 || (len(out) > 0 && len(v) != len(out[0])) {
				return nil, fmt.Errorf("%w: got %d", ErrDimension, len(v))
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// distances returns 1 - cos(v[i], v[i+1]) for each adjacent pair.
func distances(vecs [][]float32) []float64 {
	d := make([]float64, len(vecs)-1)
	for i := range d {
		d[i] = 1 - cosine(vecs[i], vecs[i+1])
	}
	return d
}

// cosine returns the cosine similarity of a and b (0 if either is zero).
func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// breakpoints marks the distances above the method's threshold.
func breakpoints(d []float64, method Threshold, amount float64) []bool {
	cuts := make([]bool, len(d)+1)
	if len(d) == 0 {
		return cuts
	}
	vals := d
	var thr float64
	switch method {
	case StdDev:
		m, sd := meanStd(d)
		thr = m + amount*sd
	case Interquartile:
		m, _ := meanStd(d)
		thr = m + amount*(percentile(d, 75)-percentile(d, 25))
	case Gradient:
		if len(d) < 2 {
			return cuts
		}
		vals = gradient(d)
		thr = percentile(vals, amount)
	default:
		thr = percentile(d, amount)
	}
	for i, v := range vals {
		// A small epsilon keeps float noise among equal distances from
		// producing cuts.
		if v > thr+1e-12 {
			cuts[i] = true
		}
	}
	return cuts
}

// percentile returns the p-th percentile of x with linear interpolation
// (numpy's default).
func percentile(x []float64, p float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	p = min(max(p, 0), 100)
	pos := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

func meanStd(x []float64) (mean, sd float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		sd += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(sd / float64(len(x)))
}

// gradient is numpy.gradient with unit spacing.
func gradient(x []float64) []float64 {
	n := len(x)
	g := make([]float64, n)
	g[0] = x[1] - x[0]
	g[n-1] = x[n-1] - x[n-2]
	for i := 1; i < n-1; i++ {
		g[i] = (x[i+1] - x[i-1]) / 2
	}
	return g
}

// splitLong cuts sentences longer than maxChars runes into pieces at white
// space, or at rune boundaries when a piece has no white space. It is
// linear in the length of the text.
func splitLong(text string, sents []Span, maxChars int) []Span {
	out := make([]Span, 0, len(sents))
	for _, sp := range sents {
		for sp.End > sp.Start {
			// Find the byte offset after maxChars runes, or the end.
			lim, n := sp.Start, 0
			for lim < sp.End && n < maxChars {
				_, w := utf8.DecodeRuneInString(text[lim:sp.End])
				lim += w
				n++
			}
			if lim >= sp.End {
				out = append(out, sp)
				break
			}
			cut := lim
			if i := strings.LastIndexFunc(text[sp.Start:lim], unicode.IsSpace); i > 0 {
				cut = sp.Start + i
			}
			out = append(out, trimSpans(text, []Span{{sp.Start, cut}})...)
			rest := trimSpans(text, []Span{{cut, sp.End}})
			if len(rest) == 0 {
				break
			}
			sp = rest[0]
		}
	}
	return out
}

// group joins sentences into chunks: it closes a chunk at a semantic
// breakpoint once the chunk has minChars, before a sentence that would take
// it past maxChars, and merges a short final chunk into the previous one
// when they fit together.
func group(text string, sents []Span, cuts []bool, minChars, maxChars int) []Chunk {
	// runeAt[i] is the rune offset of byte offset sents[i].Start; runeEnd
	// likewise for End, so chunk sizes are differences.
	runeStart := make([]int, len(sents))
	runeEnd := make([]int, len(sents))
	pos, r := 0, 0
	for i, sp := range sents {
		r += utf8.RuneCountInString(text[pos:sp.Start])
		runeStart[i] = r
		r += utf8.RuneCountInString(text[sp.Start:sp.End])
		runeEnd[i] = r
		pos = sp.End
	}
	size := func(a, b int) int { return runeEnd[b] - runeStart[a] } // sentences a..b inclusive

	var bounds [][2]int // inclusive sentence ranges
	start := 0
	for i := range sents {
		if i > start && size(start, i) > maxChars {
			bounds = append(bounds, [2]int{start, i - 1})
			start = i
		}
		if i < len(sents)-1 && cuts != nil && cuts[i] && size(start, i) >= minChars {
			bounds = append(bounds, [2]int{start, i})
			start = i + 1
		}
	}
	bounds = append(bounds, [2]int{start, len(sents) - 1})
	if n := len(bounds); n > 1 {
		last, prev := bounds[n-1], bounds[n-2]
		if size(last[0], last[1]) < minChars && size(prev[0], last[1]) <= maxChars {
			bounds = append(bounds[:n-2], [2]int{prev[0], last[1]})
		}
	}
	chunks := make([]Chunk, len(bounds))
	for i, b := range bounds {
		sp := Span{sents[b[0]].Start, sents[b[1]].End}
		chunks[i] = Chunk{Text: text[sp.Start:sp.End], Span: sp, Sentences: b[1] - b[0] + 1}
	}
	return chunks
}

// FixedChunks is the baseline splitter the blueprint replaces: it cuts text
// into pieces of size characters (runes) with overlap characters shared
// between neighbours, regardless of sentences. It exists for comparison in
// benchmarks and for callers without an Embedder.
func FixedChunks(text string, size, overlap int) []Chunk {
	text = strings.ToValidUTF8(text, "\uFFFD")
	if size <= 0 {
		size = 1000
	}
	if overlap < 0 || overlap >= size {
		overlap = 0
	}
	// Byte offsets of every rune start, plus len(text).
	offs := make([]int, 0, len(text)+1)
	for i := range text {
		offs = append(offs, i)
	}
	n := len(offs)
	offs = append(offs, len(text))
	var out []Chunk
	for s := 0; s < n; s += size - overlap {
		e := min(n, s+size)
		ts := trimSpans(text, []Span{{offs[s], offs[e]}})
		if len(ts) > 0 {
			sp := ts[0]
			out = append(out, Chunk{Text: text[sp.Start:sp.End], Span: sp, Sentences: 0})
		}
		if e == n {
			break
		}
	}
	return out
}
