package guardian

import "errors"

// ErrRejected is matched (with errors.Is) by every non-nil error that Check
// returns: the source broke at least one rule. Use errors.As with a
// *Findings or Findings target to read the individual findings.
var ErrRejected = errors.New("guardian: source rejected")
