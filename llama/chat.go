package llama

import (
	"fmt"
	"strings"
)

// Message is one turn of a chat.
type Message struct {
	Role    string // "system", "user", "assistant" or "ipython"
	Content string
}

// Llama 3.1 chat special tokens.
const (
	BeginOfText = "<|begin_of_text|>"
	StartHeader = "<|start_header_id|>"
	EndHeader   = "<|end_header_id|>"
	EndOfTurn   = "<|eot_id|>"
)

// FormatChat renders messages in the Llama 3.1 chat format and opens the
// assistant's turn:
//
//	<|start_header_id|>system<|end_header_id|>\n\n{content}<|eot_id|>...
//	<|start_header_id|>assistant<|end_header_id|>\n\n
//
// Content is trimmed of surrounding white space, as Meta's template does.
// The <|begin_of_text|> token is not written: tokenizing with special set
// adds it. A role outside system, user, assistant and ipython, or content
// that contains a header or end-of-turn token, is an ErrBadRequest.
func FormatChat(msgs []Message) (string, error) {
	var b strings.Builder
	for i, m := range msgs {
		switch m.Role {
		case "system", "user", "assistant", "ipython":
		default:
			return "", fmt.Errorf("%w: message %d: role %q", ErrBadRequest, i, m.Role)
		}
		for _, tok := range []string{BeginOfText, StartHeader, EndHeader, EndOfTurn} {
			if strings.Contains(m.Content, tok) {
				return "", fmt.Errorf("%w: message %d contains %s", ErrBadRequest, i, tok)
			}
		}
		b.WriteString(StartHeader)
		b.WriteString(m.Role)
		b.WriteString(EndHeader)
		b.WriteString("\n\n")
		b.WriteString(strings.TrimSpace(m.Content))
		b.WriteString(EndOfTurn)
	}
	b.WriteString(StartHeader + "assistant" + EndHeader + "\n\n")
	return b.String(), nil
}
