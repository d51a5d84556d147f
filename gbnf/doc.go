// Package gbnf builds, renders, samples, measures, parses and matches
// grammars in llama.cpp's GBNF notation.
//
// A grammar is a set of named rules (Grammar.Rule) whose bodies are Nodes:
// Lit (a literal string), Class (any one of a set of ASCII characters),
// Seq, Alt, Ref (a named rule) and Rep (bounded repetition; Opt is Rep of
// zero or one). Grammar.String renders it as GBNF, one rule per line, the
// first rule added first (llama.cpp starts at the rule named "root").
// The same Go value can be sampled (Sample: every choice uniform), measured
// (MaxLen: the length in bytes of the longest string of the language) and
// matched (Match), so a program can test what a model constrained by the
// grammar may write before a model ever writes it. Parse reads the GBNF
// subset this package renders back into a Grammar, following llama.cpp's
// parser where it is strict, so the text itself can be checked.
//
// The notation has no unbounded repetition (* and +): every language this
// package builds is finite when its rules are not recursive, which is what
// makes MaxLen finite and lets a random-weight model terminate.
//
// # Concurrency
//
// A Grammar is not safe for concurrent modification; once built, its
// methods may be called concurrently (Sample with one *rand.Rand per
// goroutine). Parse is a pure function.
//
// # Caveats
//
//   - Classes and literals are bytes: Class holds ASCII characters only,
//     and MaxLen counts bytes.
//   - Sample does not terminate on a recursive grammar, and MaxLen and
//     Match report it (-1, false): Check says whether a grammar is
//     recursive or refers to undefined rules.
//   - Match explores every parse (sets of end positions, memoized per rule
//     and start); its cost grows with ambiguity, fine for tests and
//     methods of a few kilobytes.
package gbnf
