// Package prompt assembles prompts within a token window and describes
// objects for them.
//
// A prompt is a list of [Part]s in output order, assembled by [Assemble]
// within a window of tokens (for the cycle: the model's context minus the
// request's output bound minus what the chat format and the system prompt
// take), as a count function measures them. Fixed parts (the
// instruction, the covenant, the selector and arguments) must fit, or
// Assemble fails with a [NoRoomError]. Foldable parts render themselves
// within a token limit: in priority order each first gets at most its
// share of what the fixed parts leave, then what the others left over.
// [FitLines], [FitEach], [Spaced] and [Truncate] build foldable parts;
// [ObjectView.Describe] is one: an object's own slots (the relevant ones
// first, then methods, then data), each with its kind and a folded value
// [Preview], then what it understands through its parents.
//
// The package knows nothing of models, personas or cycles: package vm
// writes the cycle's prompts with it. Everything here is a pure function
// of its arguments except [ViewObject], which reads one transaction.
package prompt
