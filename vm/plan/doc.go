// Package plan is BRICK's plan in the DECOMPOSING state: the facets a
// mission is split into, each a query addressed to a persona. It provides
// the plan's GBNF grammar (built with package gbnf) and its JSON schema,
// the bound on a plan's length in tokens, and the parser that checks a
// model's output against the personas the image has.
//
// Every string the grammar admits parses (the tests sample the rendered
// grammar as llama.cpp reads it); a model that takes no grammar is
// checked by Parse alone.
package plan
