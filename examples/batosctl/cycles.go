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

// missionSummary renders a cycle's brief as "type selector".
func missionSummary(m wire.MissionBrief) string {
	s := strings.TrimSpace(m.Type + " " + m.Selector)
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
	r := c.Result
	if r == nil {
		r = &wire.CycleResult{}
	}
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
	if b := c.MissionBrief.Brief; b != "" {
		field("brief", shorten(b, 200))
	}
	field("started", stampTime(c.Started))
	field("finished", stampTime(c.Finished))
	field("took", between(c.Started, c.Finished))
	field("outcome", r.Outcome)
	if r.Attempts > 1 {
		field("attempts", fmt.Sprint(r.Attempts))
	}
	field("error", c.Error)
	tw.Flush()

	if len(c.Transitions) > 0 {
		fmt.Fprintln(w, "states:")
		tw = newTable(w, 2)
		for _, t := range c.Transitions {
			took := roundDuration(time.Duration(t.DurationUS) * time.Microsecond)
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", t.State, stampTime(t.At), took)
		}
		tw.Flush()
	}
	if len(r.Lines) > 0 {
		fmt.Fprintln(w, "trace:")
		for _, l := range r.Lines {
			fmt.Fprint(w, indent(l, "  "))
		}
	}
	if len(r.Steps) > 0 {
		fmt.Fprintln(w, "model steps:")
		tw = newTable(w, 2)
		for _, s := range r.Steps {
			persona := s.Persona
			if s.Adapter != "" && !strings.EqualFold(s.Adapter, persona) {
				persona += " (adapter " + s.Adapter + ")"
			}
			took := fmt.Sprintf("%d ms", s.DurationMS)
			tokens := ""
			if s.Window > 0 {
				tokens = fmt.Sprintf("%d/%d prompt tokens, output <= %d", s.PromptTokens, s.Window, s.MaxTokens)
			}
			note := ""
			if s.Error != "" {
				note = "error: " + shorten(s.Error, 80)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", s.State, persona, took, tokens, note)
		}
		tw.Flush()
	}
	if r.ContextSize > 0 {
		fmt.Fprintf(w, "context: %d tokens\n", r.ContextSize)
	}
	if len(r.Methods) > 0 {
		fmt.Fprintln(w, "method attempts:")
		for _, m := range r.Methods {
			fmt.Fprintf(w, "  attempt %d: %s\n", m.Attempt, m.Verdict)
			for _, f := range m.Findings {
				fmt.Fprintf(w, "    - %s\n", f)
			}
			if m.Error != "" {
				fmt.Fprintf(w, "    trial error: %s\n", shorten(m.Error, 300))
			} else if m.Trial != "" {
				fmt.Fprintf(w, "    trial result: %s\n", shorten(m.Trial, 200))
			}
			fmt.Fprint(w, indent(m.Source, "    "))
		}
	}
	if len(r.Findings) > 0 {
		fmt.Fprintln(w, "findings:")
		for _, f := range r.Findings {
			fmt.Fprintf(w, "  - %s\n", f)
		}
	}
	if r.Result != "" {
		fmt.Fprintln(w, "result:")
		fmt.Fprint(w, indent(r.Result, "  "))
	}
}
