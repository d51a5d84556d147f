package catalog

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
)

// maxTermBytes bounds the length of one indexed term; longer runs of letters
// (base64, hashes) are cut so that a key stays small.
const maxTermBytes = 64

// Terms returns the index terms of text, in order of appearance: runs of
// letters and digits, lower-cased, English stop words removed, and stemmed
// with the Snowball English (Porter2) stemmer. A query and a document are
// tokenized the same way. Invalid UTF-8 bytes separate terms.
func Terms(text string) []string {
	var out []string
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		w := strings.ToLower(text[start:end])
		start = -1
		if english.IsStopWord(w) {
			return
		}
		w = stem(w)
		if w != "" {
			out = append(out, w)
		}
	}
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if start < 0 {
				start = i
			}
		} else {
			flush(i)
		}
		i += n
	}
	flush(len(text))
	return out
}

// stemCache memoizes the Snowball stemmer, which dominates indexing time
// otherwise; it stops growing at stemCacheMax words.
var (
	stemCache    sync.Map // lower-case word -> term
	stemCached   atomic.Int64
	stemCacheMax int64 = 1 << 18
)

// stem returns the index term of a lower-case word.
func stem(w string) string {
	if t, ok := stemCache.Load(w); ok {
		return t.(string)
	}
	t := english.Stem(w, false)
	if len(t) > maxTermBytes {
		t = truncateUTF8(t, maxTermBytes)
	}
	if stemCached.Load() < stemCacheMax {
		if _, loaded := stemCache.LoadOrStore(strings.Clone(w), t); !loaded {
			stemCached.Add(1)
		}
	}
	return t
}

// truncateUTF8 cuts s to at most n bytes on a rune boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// termFreqs counts the terms of text; it returns the counts and the total
// number of terms (the chunk length for BM25).
func termFreqs(text string) (map[string]int, int) {
	terms := Terms(text)
	tf := make(map[string]int, len(terms))
	for _, t := range terms {
		tf[t]++
	}
	return tf, len(terms)
}
