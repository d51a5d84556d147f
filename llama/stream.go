package llama

import (
	"strings"
	"unicode/utf8"
)

// textStream turns token bytes into valid UTF-8 text, cuts it at the first
// stop string and releases text that can no longer become part of a stop
// string.
type textStream struct {
	stops   []string
	raw     []byte // undecoded tail: an incomplete UTF-8 sequence
	text    strings.Builder
	emitted int // bytes of text already released
	stopped bool
}

// add appends a token's bytes. It returns the newly released text and
// whether a stop string was found.
func (s *textStream) add(piece []byte) (string, bool) {
	if s.stopped {
		return "", true
	}
	s.raw = append(s.raw, piece...)
	before := s.text.Len()
	i := 0
	for i < len(s.raw) {
		r, n := utf8.DecodeRune(s.raw[i:])
		if r == utf8.RuneError && n <= 1 {
			if !utf8.FullRune(s.raw[i:]) {
				break // wait for the rest of the character
			}
			s.text.WriteRune(utf8.RuneError)
			i++
			continue
		}
		s.text.Write(s.raw[i : i+n])
		i += n
	}
	s.raw = append(s.raw[:0], s.raw[i:]...)
	if s.text.Len() == before {
		return "", false
	}
	text := s.text.String()
	for _, stop := range s.stops {
		from := max(0, before-len(stop)+1)
		if from > len(text) {
			continue
		}
		if j := strings.Index(text[from:], stop); j >= 0 {
			text = text[:from+j]
			s.stopped = true
		}
	}
	if s.stopped {
		s.text.Reset()
		s.text.WriteString(text)
		out := text[s.emitted:]
		s.emitted = len(text)
		return out, true
	}
	safe := len(text) - s.held(text)
	if safe <= s.emitted {
		return "", false
	}
	out := text[s.emitted:safe]
	s.emitted = safe
	return out, false
}

// held is the length of the longest suffix of text that is a proper prefix
// of a stop string.
func (s *textStream) held(text string) int {
	h := 0
	for _, stop := range s.stops {
		for k := min(len(stop)-1, len(text)); k > h; k-- {
			if strings.HasSuffix(text, stop[:k]) {
				h = k
				break
			}
		}
	}
	return h
}

// flush releases what is held back; an incomplete trailing character is
// dropped so the text stays valid UTF-8.
func (s *textStream) flush() string {
	s.raw = s.raw[:0]
	text := s.text.String()
	out := text[s.emitted:]
	s.emitted = len(text)
	return out
}

// String returns all text so far (released or not).
func (s *textStream) String() string { return s.text.String() }
