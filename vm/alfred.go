package vm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/methodspec"
	"github.com/batos/batos/vm/prompt"
)

// MethodAttempt is one method ALFRED wrote in a cycle, with what the
// guardian and the trial run said of it.
type MethodAttempt struct {
	Attempt  int      `json:"attempt"`
	Source   string   `json:"source"`
	Verdict  string   `json:"verdict"`            // VerdictPassed, VerdictRejected or VerdictTrialFailed
	Findings []string `json:"findings,omitempty"` // the guardian's findings
	Trial    string   `json:"trial,omitempty"`    // the trial run's result, formatted
	Error    string   `json:"error,omitempty"`    // the trial run's error
}

// Verdicts of a MethodAttempt.
const (
	VerdictPassed      = "passed"       // audited and trial-run
	VerdictRejected    = "rejected"     // the guardian refused it
	VerdictTrialFailed = "trial failed" // it failed when run on the message's arguments
)

// covenantParts is the blueprint's architectural covenant prompt, for
// Starlark, with what a code-writing model needs: the object, the methods
// it understands, the rules of the language, examples and, on a retry,
// the earlier attempts with their findings.
func covenantParts(mv *missionView, partials []facetAnswer, attempts []MethodAttempt, count func(string) int) []prompt.Part {
	sig := strings.Join(append([]string{"self"}, mv.Params...), ", ")
	head := fmt.Sprintf(`You are the BAT OS Universal Virtual Machine's Just-in-Time (JIT) Compiler for Intent. An object has received a message it does not understand. Your task is to generate the complete, syntactically correct Starlark code for a new method to handle this message.

**Mission Intent:** %s
**Method Name:** `+"`%s`"+`

`, mv.Brief, mv.Selector)
	var capsPart prompt.Part
	if len(mv.Caps) > 0 && mv.Proxy {
		head = fmt.Sprintf(`You are the BAT OS Universal Virtual Machine's Just-in-Time (JIT) Compiler for Agency. An object holds capabilities, tools the host granted it, and needs a method that uses one for a purpose. Your task is to generate the complete, syntactically correct Starlark code for a proxy method: it calls the capability with the method's arguments and returns what it answers, or the part of it that serves the purpose (json.decode parses JSON text).

**Mission Intent:** %s
**Method Name:** `+"`%s`"+`

`, mv.Brief, mv.Selector)
	}
	if len(mv.Caps) > 0 {
		var sb strings.Builder
		sb.WriteString("**Capabilities the object holds** (the only way to reach the outside world; pass parameters by name):\n")
		for _, h := range mv.Caps {
			sb.WriteString(describeCapability(h))
		}
		sb.WriteString("\n")
		capsPart = prompt.Fixed(sb.String())
	}
	rules := fmt.Sprintf(`
**Architectural Covenants (Non-Negotiable):**
1. The code must be a single, complete function definition (`+"`def %s(%s):`"+`).
2. The function MUST accept `+"`self`"+` as its first argument.
3. The function can access the object's state ONLY through `+"`self.slot_name`"+`. Direct access to `+"`self._slots`"+` is forbidden. Read only slots the object has (listed above) or that the method assigned first.
4. If the function modifies the object's state (e.g., `+"`self.some_slot = new_value`"+`), it MUST conclude with the line `+"`self._p_changed = True`"+`, followed only by its one `+"`return`"+`. This is The Persistence Covenant.
5. Every object understands self.repr(), self.oid(), self.slot_names() and self.clone(); call its other methods as self.name(...), and methods of objects in its reference slots as self.slot.name(...).
6. The language is Starlark, not Python: no f-strings, try/except, while, class, import, with, lambda, global, sets or sum(). Use if/elif/else, for loops over lists, dicts and range(n), str(), len(), sorted(), ", ".join(...), and "%%s" %% value formatting.
7. Do NOT include any conversational text, explanations, or markdown formatting. Output ONLY the raw code for the function.

**Examples of valid methods:**
def describe(self):
    return "I hold " + str(len(self.slot_names())) + " slots"

def add_note(self, arg0):
    notes = self.notes if "notes" in self.slot_names() else []
    notes.append(arg0)
    self.notes = notes
    self._p_changed = True
    return len(notes)

`, mv.Selector, sig)
	parts := []prompt.Part{
		prompt.Fixed(head),
		capsPart,
		mv.objectPart(count, 0.4),
		partialsPart(partials, count),
		mv.passagesPart(count),
		prompt.Fixed(rules),
	}
	if len(attempts) > 0 {
		items := make([]prompt.Item, 0, len(attempts))
		// The latest attempt first: it is the one to repair.
		for i := len(attempts) - 1; i >= 0; i-- {
			a := attempts[i]
			why := strings.Join(a.Findings, "; ")
			if a.Error != "" {
				why = "its trial run on the message's arguments failed: " + a.Error
			}
			items = append(items, prompt.Item{
				Prefix: fmt.Sprintf("Attempt %d was refused (%s). %s. Its source:\n", a.Attempt, a.Verdict, prompt.Bound(why, 800)),
				Body:   a.Source,
				Suffix: "\n",
			})
		}
		// On a retry the refused attempts come first: they are what the
		// repair is about (their findings are kept even when their
		// source must be cut).
		parts = append(parts, prompt.Part{
			Fit:   prompt.FitEach("**Earlier attempts (fix what was refused):**\n", items, count),
			Prio:  0,
			Share: shareAttempts,
		})
	}
	return append(parts, prompt.Fixed("**BEGIN CODE GENERATION:**\n"))
}

// writeMethod has ALFRED write the method of an unhandled_message
// mission: each attempt is audited by the guardian and trial-run in the
// sandbox on the message's arguments, inside the cycle's transaction, with
// everything the trial writes discarded; a refused attempt goes back to
// ALFRED with its findings, up to Options.MethodAttempts times.
func (r *cycleRun) writeMethod(ctx context.Context, tx *object.Tx, mv *missionView) (string, error) {
	p, err := r.persona(tx, PersonaCoder)
	if err != nil {
		return "", err
	}
	gs := genSpec{}
	if !r.v.opts.NoMethodGrammar {
		spec, err := methodspec.New(tx, r.m.target, mv.Selector, mv.Params, mv.Args)
		if err != nil {
			return "", err
		}
		if r.missionType() == MissionAcquireCapability {
			if len(mv.Caps) == 0 {
				return "", fmt.Errorf("%w: object %d holds no capability to wrap (%q)", ErrUnknownCapability, uint64(r.m.target), briefString(r.m.brief, "capability", "any"))
			}
			spec.Capabilities = specCapabilities(mv.Caps)
			// A mission that asked for a proxy gets one; a message an
			// object holding capabilities did not understand may be
			// answered either way.
			spec.ProxyOnly = mv.Proxy
		}
		g := spec.Build() // once: it is tens of kilobytes of GBNF
		gs.Grammar, gs.MaxTokens = g.String(), g.MaxLen()
	}
	var attempts []MethodAttempt
	var lastErr error
	for n := 1; n <= r.v.opts.MethodAttempts; n++ {
		gs.Tag = fmt.Sprint("method", n)
		out, err := r.generate(ctx, p, covenantParts(mv, r.partials, attempts, r.count), gs)
		if err != nil {
			return "", err
		}
		a := MethodAttempt{Attempt: n, Source: CleanSource(out)}
		lastErr = r.checkMethod(ctx, tx, mv, &a)
		if lastErr != nil && (ctx.Err() != nil || !errors.Is(lastErr, ErrAudit) && !errors.Is(lastErr, ErrTrial)) {
			return "", lastErr // the cycle is over, or the trial's writes could not be discarded
		}
		attempts = append(attempts, a)
		r.mu.Lock()
		r.rec.Methods = append(r.rec.Methods, boundAttempt(a, r.v.opts.TraceLimit))
		r.mu.Unlock()
		if lastErr == nil {
			r.attempts = attempts
			r.mu.Lock()
			r.rec.Findings = nil // an earlier attempt's; this one passed
			r.mu.Unlock()
			r.addLine("[Guardian] Code audit passed. Adheres to the Persistence Covenant.")
			r.addLine("[Orchestrator] Trial run on the message's arguments passed (attempt %d); its writes were discarded.", n)
			return a.Source, nil
		}
		if n < r.v.opts.MethodAttempts {
			r.addLine("[Orchestrator] Attempt %d refused; asking %s to repair it.", n, PersonaCoder)
		}
	}
	r.mu.Lock()
	r.rec.Result = prompt.Bound(attempts[len(attempts)-1].Source, r.v.opts.TraceLimit)
	r.mu.Unlock()
	return "", fmt.Errorf("vm: %d method attempts refused, the last: %w", len(attempts), lastErr)
}

// checkMethod audits an attempt and trial-runs it, recording the verdict.
func (r *cycleRun) checkMethod(ctx context.Context, tx *object.Tx, mv *missionView, a *MethodAttempt) error {
	pol := guardian.DefaultPolicy(mv.Selector)
	pol.Params = append([]string{}, mv.Params...)
	if err := guardian.Check(a.Source, pol); err != nil {
		var fs guardian.Findings
		if errors.As(err, &fs) {
			for _, f := range fs {
				a.Findings = append(a.Findings, f.String())
			}
		} else {
			a.Findings = []string{err.Error()}
		}
		a.Verdict = VerdictRejected
		r.mu.Lock()
		r.rec.Findings = append([]string(nil), a.Findings...)
		r.mu.Unlock()
		r.addLine("[Guardian] AUDIT FAILED: %s", strings.Join(a.Findings, "; "))
		return &AuditError{Selector: mv.Selector, Err: err}
	}
	res, err := r.trial(ctx, tx, mv, a.Source)
	var rb *rollbackError
	if err != nil && (ctx.Err() != nil || errors.As(err, &rb)) {
		return err // the cycle is over, or the transaction is doomed: no repair
	}
	if errors.Is(err, ErrCapabilitySkipped) {
		// The method reached an effect the trial may not have: it ran
		// well up to there, which is all a trial can say.
		a.Verdict, a.Trial = VerdictPassed, "stopped before a state-changing capability call (not performed): "+prompt.Bound(err.Error(), 200)
		r.addLine("[Orchestrator] Trial run stopped before a state-changing capability call, which it did not make: %v", err)
		return nil
	}
	if err != nil {
		a.Verdict, a.Error = VerdictTrialFailed, err.Error()
		r.addLine("[Orchestrator] Trial run failed: %v", err)
		return &TrialError{Selector: mv.Selector, Err: err}
	}
	a.Verdict, a.Trial = VerdictPassed, prompt.Bound(object.Format(res), 512)
	return nil
}

// noteCapability records a capability call of the cycle's trial runs.
func (r *cycleRun) noteCapability(c CapabilityRecord) {
	r.mu.Lock()
	if len(r.rec.Capabilities) < maxTraceLines {
		r.rec.Capabilities = append(r.rec.Capabilities, c)
	}
	if len(r.rec.Lines) < maxTraceLines { // the VM's log has the line already
		r.rec.Lines = append(r.rec.Lines, fmt.Sprintf("[Capability] %s(%s): %d bytes in, %d out%s", c.Capability, c.Args, c.BytesIn, c.BytesOut, recNote(c)))
	}
	r.mu.Unlock()
}

// trial runs source as the target's method on the message's arguments in
// tx and discards whatever it wrote: a message that was not understood
// has no effect; its resend does.
func (r *cycleRun) trial(ctx context.Context, tx *object.Tx, mv *missionView, source string) (object.Value, error) {
	if r.v.runner == nil {
		return nil, ErrNoRunner
	}
	m := &object.Method{Selector: mv.Selector, Source: source, Author: PersonaCoder, Cycle: r.m.id, Verdict: VerdictPassed}
	args, _ := r.m.brief["args"].(object.List)
	kw, _ := r.m.brief["kwargs"].(object.Map)
	// The trial runs outside the cycle: a method that calls a state's
	// builtin process_synthesis gets an error (only the cycle's drive
	// calls it, with the run), so it cannot re-enter the running cycle.
	// Capabilities that are not read-only answer with their dry run or
	// stop the trial (ErrCapabilitySkipped); every call is recorded.
	ctx = withCapScope(ctx, &capScope{trial: true, note: r.noteCapability})
	sp := tx.Savepoint()
	res, err := r.v.runner.Call(ctx, tx, r.m.target, m, args, kw)
	if rerr := tx.RollbackTo(sp); rerr != nil {
		// What the trial wrote cannot be told from the cycle's own
		// writes any more: nothing of this transaction may commit.
		tx.Doom()
		return nil, &rollbackError{rerr}
	}
	return res, err
}

// rollbackError is a trial whose writes could not be discarded; the
// cycle's transaction is doomed.
type rollbackError struct{ err error }

func (e *rollbackError) Error() string {
	return "vm: discarding the trial's writes: " + e.err.Error()
}
func (e *rollbackError) Unwrap() error { return e.err }

func boundAttempt(a MethodAttempt, lim int) MethodAttempt {
	a.Source = prompt.Bound(a.Source, lim)
	a.Error = prompt.Bound(a.Error, 1024)
	return a
}

// attemptNotes summarizes a cycle's method attempts for the installed
// method's Findings (shown by inspect): the refused ones with their
// reasons, then the trial of the one installed.
func attemptNotes(attempts []MethodAttempt) []string {
	var out []string
	for _, a := range attempts {
		switch a.Verdict {
		case VerdictPassed:
			out = append(out, fmt.Sprintf("attempt %d passed the audit; trial run returned %s", a.Attempt, prompt.Bound(a.Trial, 200)))
		case VerdictRejected:
			out = append(out, fmt.Sprintf("attempt %d rejected: %s", a.Attempt, prompt.Bound(strings.Join(a.Findings, "; "), 400)))
		default:
			out = append(out, fmt.Sprintf("attempt %d %s: %s", a.Attempt, a.Verdict, prompt.Bound(a.Error, 400)))
		}
	}
	return out
}
