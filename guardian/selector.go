package guardian

// starlarkKeywords are reserved in Starlark (and Python) and cannot name a
// method.
var starlarkKeywords = map[string]bool{
	"and": true, "as": true, "assert": true, "async": true, "await": true, "break": true,
	"class": true, "continue": true, "def": true, "del": true, "elif": true, "else": true,
	"except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "load": true, "nonlocal": true,
	"not": true, "or": true, "pass": true, "raise": true, "return": true, "try": true,
	"while": true, "with": true, "yield": true, "self": true, "None": true, "True": true, "False": true,
}

// ValidSelector reports whether s can name a message (and a method the
// guardian admits): an ASCII identifier
// of at most 64 bytes that is not a Starlark keyword and does not end in
// "*" (parent slots are not messages).
func ValidSelector(s string) bool {
	if s == "" || len(s) > 64 || starlarkKeywords[s] {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
