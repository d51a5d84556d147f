package guardian

import (
	"strings"
	"testing"
)

func TestValidSelector(t *testing.T) {
	for s, want := range map[string]bool{
		"display_yourself": true, "_private": true, "x1": true,
		"": false, "1x": false, "parent*": false, "def": false, "self": false, "a-b": false, "é": false,
		strings.Repeat("a", 65): false,
	} {
		if got := ValidSelector(s); got != want {
			t.Errorf("ValidSelector(%q) = %v", s, got)
		}
	}
}
