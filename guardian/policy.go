package guardian

// Default limits used by DefaultPolicy and by Check for zero fields.
const (
	DefaultMaxBytes      = 16 << 10 // 16 KiB of source
	DefaultMaxStatements = 200
	DefaultMaxDepth      = 6  // block nesting: the def body is depth 1
	DefaultMaxExprDepth  = 32 // expression nesting
)

// DefaultBuiltins is the allowlist of predeclared names a method may use
// when Policy.AllowedBuiltins is nil. It deliberately leaves out getattr,
// hasattr, dir and setattr-like reflection (they would let a method reach
// attributes by computed names the static audit cannot see) and anything
// that could read a clock, randomness or files (Starlark has none of those
// by default anyway). json is the sandbox's go.starlark.net/lib/json
// module: pure functions of their arguments.
var DefaultBuiltins = []string{
	"None", "True", "False",
	"abs", "all", "any", "bool", "bytes", "chr", "dict", "enumerate",
	"fail", "float", "int", "len", "list", "max", "min", "ord", "print",
	"range", "repr", "reversed", "sorted", "str", "tuple", "type", "zip",
	"json", // the sandbox's json module: encode, decode, indent
}

// Policy says what a generated method must look like to pass Check.
// The zero value of each limit means its default.
type Policy struct {
	// Selector is the method name the mission asked for; the single
	// top-level def must have this name. Empty accepts any name.
	Selector string
	// Params, when non-nil, are the parameter names expected after self,
	// in order (a "*args" parameter is written "*args", "**kw" as "**kw").
	Params []string
	// MaxBytes bounds the source size (default DefaultMaxBytes). Larger
	// sources are rejected before parsing.
	MaxBytes int
	// MaxStatements bounds the number of statements in the whole source
	// (default DefaultMaxStatements).
	MaxStatements int
	// MaxDepth bounds block nesting; the def body is depth 1 and each
	// nested if/for/while/def body adds one (default DefaultMaxDepth).
	MaxDepth int
	// MaxExprDepth bounds expression nesting (default DefaultMaxExprDepth).
	MaxExprDepth int
	// AllowedBuiltins is the allowlist of predeclared names the method may
	// reference; nil means DefaultBuiltins.
	AllowedBuiltins []string
}

// DefaultPolicy returns the policy for a method with the given selector and
// default limits.
func DefaultPolicy(selector string) Policy {
	return Policy{
		Selector:      selector,
		MaxBytes:      DefaultMaxBytes,
		MaxStatements: DefaultMaxStatements,
		MaxDepth:      DefaultMaxDepth,
		MaxExprDepth:  DefaultMaxExprDepth,
	}
}

func (p Policy) withDefaults() Policy {
	if p.MaxBytes <= 0 {
		p.MaxBytes = DefaultMaxBytes
	}
	if p.MaxStatements <= 0 {
		p.MaxStatements = DefaultMaxStatements
	}
	if p.MaxDepth <= 0 {
		p.MaxDepth = DefaultMaxDepth
	}
	if p.MaxExprDepth <= 0 {
		p.MaxExprDepth = DefaultMaxExprDepth
	}
	if p.AllowedBuiltins == nil {
		p.AllowedBuiltins = DefaultBuiltins
	}
	return p
}
