package gbnf

// Node is one element of a rule body: Lit, Class, Seq, Alt, Ref or Rep.
// The set is sealed.
type Node interface{ node() }

type (
	// Lit matches its text exactly.
	Lit string
	// Class matches any one of its characters (ASCII).
	Class string
	// Seq matches its elements one after the other; an empty Seq
	// matches the empty string.
	Seq []Node
	// Alt matches any one of its alternatives.
	Alt []Node
	// Ref matches the rule of that name.
	Ref string
	// Rep matches Min to Max repetitions of Node.
	Rep struct {
		Node     Node
		Min, Max int
	}
)

func (Lit) node()   {}
func (Class) node() {}
func (Seq) node()   {}
func (Alt) node()   {}
func (Ref) node()   {}
func (Rep) node()   {}

// Opt matches n or nothing.
func Opt(n Node) Rep { return Rep{Node: n, Min: 0, Max: 1} }
