package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/batos/batos/bridge/wire"
)

func cyclesCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	limit := fs.Int("limit", 0, "list at most `N` cycles (0: the server's default, 20)")
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("cycles", pos); err != nil {
			return err
		}
		if *limit < 0 {
			return usagef("--limit must not be negative")
		}
		res, err := a.call(ctx, &wire.Request{Command: wire.CmdListCycles, Limit: int64(*limit)})
		if err != nil {
			return err
		}
		if a.g.json {
			return writeJSON(a.stdout, res)
		}
		var cl wire.CycleList
		if err := (wire.Value{V: res}).Decode(&cl); err != nil {
			return fmt.Errorf("cycles: unexpected result: %w", err)
		}
		if len(cl.Cycles) == 0 {
			fmt.Fprintln(a.stdout, "no cycles")
			return nil
		}
		tw := newTable(a.stdout, 2)
		fmt.Fprintln(tw, "ID\tSTATE\tTARGET\tMISSION\tSTARTED\tTOOK\tERROR")
		for _, c := range cl.Cycles {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.State, c.Target, missionSummary(c.MissionBrief),
				stampTime(c.Started), between(c.Started, c.Finished), shorten(c.Error, 60))
		}
		return tw.Flush()
	}
}

// roundNote rounds a transition note that is a duration (batosd puts the
// time spent in the state there); other notes are returned as they are.
func roundNote(s string) string {
	d, err := time.ParseDuration(s)
	if err != nil {
		return s
	}
	return roundDuration(d).String()
}

// missionSummary renders a cycle's brief as "type selector".
func missionSummary(m wire.Map) string {
	s := strings.TrimSpace(str(m, "type") + " " + str(m, "selector"))
	if s == "" {
		return "-"
	}
	return s
}

func cycleCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("cycle", pos, "ID"); err != nil {
			return err
		}
		res, err := a.call(ctx, &wire.Request{Command: wire.CmdShowCycle, CycleID: pos[0]})
		if err != nil {
			return err
		}
		if a.g.json {
			return writeJSON(a.stdout, res)
		}
		var c wire.CycleInfo
		if err := (wire.Value{V: res}).Decode(&c); err != nil {
			return fmt.Errorf("cycle: unexpected result: %w", err)
		}
		a.printCycle(&c)
		return nil
	}
}

func (a *app) printCycle(c *wire.CycleInfo) {
	w := a.stdout
	r, _ := c.Result.V.(map[string]any)
	fmt.Fprintf(w, "cycle %s  %s\n", c.ID, c.State)
	tw := newTable(w, 1)
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(tw, "  %s:\t%s\n", name, value)
		}
	}
	if !c.Target.IsZero() {
		field("target", c.Target.String())
	}
	field("mission", missionSummary(c.MissionBrief))
	if b := str(c.MissionBrief, "brief"); b != "" {
		field("brief", shorten(b, 200))
	}
	field("started", stampTime(c.Started))
	field("finished", stampTime(c.Finished))
	field("took", between(c.Started, c.Finished))
	field("outcome", str(r, "outcome"))
	if n, ok := num(r, "attempts"); ok && n > 1 {
		field("attempts", integer(r, "attempts"))
	}
	field("error", c.Error)
	tw.Flush()

	if len(c.Transitions) > 0 {
		fmt.Fprintln(w, "states:")
		tw = newTable(w, 2)
		for _, t := range c.Transitions {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", t.State, stampTime(t.At), roundNote(t.Note))
		}
		tw.Flush()
	}
	if lines := list(r, "lines"); len(lines) > 0 {
		fmt.Fprintln(w, "trace:")
		for _, l := range lines {
			fmt.Fprint(w, indent(formatValue(l), "  "))
		}
	}
	if steps := list(r, "steps"); len(steps) > 0 {
		fmt.Fprintln(w, "model steps:")
		tw = newTable(w, 2)
		for _, s := range steps {
			m, _ := s.(map[string]any)
			persona := str(m, "persona")
			if ad := str(m, "adapter"); ad != "" && !strings.EqualFold(ad, persona) {
				persona += " (adapter " + ad + ")"
			}
			took := ""
			if _, ok := num(m, "duration_ms"); ok {
				took = integer(m, "duration_ms") + " ms"
			}
			tokens := ""
			if n, ok := num(m, "window"); ok && n > 0 {
				tokens = fmt.Sprintf("%s/%s prompt tokens, output <= %s", integer(m, "prompt_tokens"), integer(m, "window"), integer(m, "max_tokens"))
			}
			note := ""
			if e := str(m, "error"); e != "" {
				note = "error: " + shorten(e, 80)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", str(m, "state"), persona, took, tokens, note)
		}
		tw.Flush()
	}
	if n, ok := num(r, "context_size"); ok && n > 0 {
		fmt.Fprintf(w, "context: %s tokens\n", integer(r, "context_size"))
	}
	if methods := list(r, "methods"); len(methods) > 0 {
		fmt.Fprintln(w, "method attempts:")
		for _, a := range methods {
			m, _ := a.(map[string]any)
			fmt.Fprintf(w, "  attempt %s: %s\n", integer(m, "attempt"), str(m, "verdict"))
			for _, f := range list(m, "findings") {
				fmt.Fprintf(w, "    - %s\n", formatValue(f))
			}
			if e := str(m, "error"); e != "" {
				fmt.Fprintf(w, "    trial error: %s\n", shorten(e, 300))
			} else if t := str(m, "trial"); t != "" {
				fmt.Fprintf(w, "    trial result: %s\n", shorten(t, 200))
			}
			fmt.Fprint(w, indent(str(m, "source"), "    "))
		}
	}
	if findings := list(r, "findings"); len(findings) > 0 {
		fmt.Fprintln(w, "findings:")
		for _, f := range findings {
			fmt.Fprintf(w, "  - %s\n", formatValue(f))
		}
	}
	if res := str(r, "result"); res != "" {
		fmt.Fprintln(w, "result:")
		fmt.Fprint(w, indent(res, "  "))
	}
}
