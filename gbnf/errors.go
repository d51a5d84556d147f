package gbnf

import "errors"

var (
	// ErrSyntax is returned by Parse for text that is not the GBNF
	// subset this package reads (and llama.cpp accepts).
	ErrSyntax = errors.New("gbnf: syntax error")
	// ErrUndefined is returned by Check and Parse when a rule refers to
	// a rule that does not exist, or there is no rule "root".
	ErrUndefined = errors.New("gbnf: undefined rule")
	// ErrRecursive is returned by Check when a rule refers to
	// itself, directly or not.
	ErrRecursive = errors.New("gbnf: recursive rule")
)
