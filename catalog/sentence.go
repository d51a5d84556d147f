package catalog

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/neurosnap/sentences"
	"github.com/neurosnap/sentences/english"
)

// Span is a half-open byte range [Start, End) of a text.
type Span struct {
	Start, End int
}

// sentenceTokenizer loads the embedded English Punkt training set once, on
// first use (never from init).
var sentenceTokenizer = sync.OnceValues(func() (*sentences.DefaultSentenceTokenizer, error) {
	return english.NewSentenceTokenizer(nil)
})

// Sentences splits text into sentences with the Punkt algorithm trained on
// English (github.com/neurosnap/sentences), and returns the byte spans of the
// non-blank sentences, trimmed of surrounding white space, in order.
// Text that is not valid UTF-8 should first be cleaned with
// strings.ToValidUTF8; the spans index the text as given.
func Sentences(text string) []Span {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	tok, err := sentenceTokenizer()
	if err != nil {
		// The training set is embedded; failing to load it is a build
		// problem. Fall back to one sentence per paragraph.
		return trimSpans(text, []Span{{0, len(text)}})
	}
	raw := tok.Tokenize(text)
	spans := make([]Span, 0, len(raw))
	prev := 0
	for _, s := range raw {
		start, end := s.Start, s.End
		// Defend against a library returning odd offsets.
		if start < prev {
			start = prev
		}
		if end > len(text) {
			end = len(text)
		}
		if end <= start {
			continue
		}
		spans = append(spans, Span{start, end})
		prev = end
	}
	return trimSpans(text, splitParagraphs(text, spans))
}

// splitParagraphs further splits sentences at blank lines: Punkt does not
// treat a paragraph break without final punctuation (a heading) as a
// sentence boundary.
func splitParagraphs(text string, spans []Span) []Span {
	out := spans[:0:0]
	for _, sp := range spans {
		s := sp.Start
		for {
			i := strings.Index(text[s:sp.End], "\n\n")
			if i < 0 {
				break
			}
			out = append(out, Span{s, s + i})
			s += i + 2
		}
		out = append(out, Span{s, sp.End})
	}
	return out
}

// trimSpans trims white space from each span and drops empty ones.
func trimSpans(text string, spans []Span) []Span {
	out := spans[:0]
	for _, sp := range spans {
		s, e := sp.Start, sp.End
		for s < e {
			r, n := utf8.DecodeRuneInString(text[s:e])
			if !unicode.IsSpace(r) {
				break
			}
			s += n
		}
		for e > s {
			r, n := utf8.DecodeLastRuneInString(text[s:e])
			if !unicode.IsSpace(r) {
				break
			}
			e -= n
		}
		if e > s {
			out = append(out, Span{s, e})
		}
	}
	return out
}
