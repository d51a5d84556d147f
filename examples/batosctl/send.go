package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/batos/batos/bridge/wire"
)

// Cycle states that end a cycle (batosd upper-cases vm's statuses).
const (
	stateComplete = "COMPLETE"
	stateFailed   = "FAILED"
	stateAborted  = "ABORTED"
)

func sendCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	argsJSON := fs.String("args", "", "positional arguments as a JSON `array`, e.g. '[1, \"two\"]'")
	kwargsJSON := fs.String("kwargs", "", "keyword arguments as a JSON `object`, e.g. '{\"n\": 3}'")
	wait := fs.Bool("wait", false, "when the message starts a cognitive cycle, wait for its end and send the message again if it is COMPLETE")
	fs.DurationVar(&a.pollInterval, "poll", a.pollInterval, "with --wait, how often to ask for the cycle's state")
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("send", pos, "TARGET", "SELECTOR"); err != nil {
			return err
		}
		target, err := parseTarget(pos[0])
		if err != nil {
			return err
		}
		req := &wire.Request{Command: wire.CmdDispatchMessage, Target: target, MessageName: pos[1]}
		if *argsJSON != "" {
			v, err := parseJSON(*argsJSON)
			l, ok := v.([]any)
			if err != nil || !ok {
				return usagef("--args wants a JSON array, e.g. '[1, \"two\"]'")
			}
			req.Args = l
		}
		if *kwargsJSON != "" {
			v, err := parseJSON(*kwargsJSON)
			m, ok := v.(map[string]any)
			if err != nil || !ok {
				return usagef("--kwargs wants a JSON object, e.g. '{\"n\": 3}'")
			}
			req.Kwargs = m
		}
		if a.pollInterval <= 0 {
			return usagef("--poll must be positive")
		}
		return a.send(ctx, req, *wait)
	}
}

// mission is the reply of a message that started a cognitive cycle.
type mission struct {
	message, cycleID string
	target           any
}

func asMission(v any) (mission, bool) {
	m, ok := v.(map[string]any)
	if !ok || m["mission"] != true {
		return mission{}, false
	}
	return mission{message: str(m, "message"), cycleID: str(m, "cycle_id"), target: m["target"]}, true
}

func (a *app) send(ctx context.Context, req *wire.Request, wait bool) error {
	res, err := a.call(ctx, req)
	if err != nil {
		return err
	}
	ms, ok := asMission(res)
	if !ok || !wait {
		if a.g.json {
			return writeJSON(a.stdout, res)
		}
		if ok {
			a.printMission(ms)
			fmt.Fprintf(a.stdout, "follow it with: batosctl cycle %s\n", ms.cycleID)
			return nil
		}
		fmt.Fprintln(a.stdout, formatValue(res))
		return nil
	}

	if !a.g.json {
		a.printMission(ms)
	}
	cycle, err := a.waitCycle(ctx, ms.cycleID)
	if err != nil {
		return err
	}
	state := str(cycle, "state")
	result := dict(cycle, "result")
	out := map[string]any{"dispatch": res, "cycle": cycle}
	if state != stateComplete {
		if a.g.json {
			if err := writeJSON(a.stdout, out); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(a.stdout, "cycle %s %s", ms.cycleID, state)
			if d := between(str(cycle, "started"), str(cycle, "finished")); d != "" {
				fmt.Fprintf(a.stdout, " after %s", d)
			}
			fmt.Fprintf(a.stdout, "\nsee the trace with: batosctl cycle %s\n", ms.cycleID)
		}
		return &cycleFailedError{id: ms.cycleID, state: state, reason: str(cycle, "error")}
	}
	if !a.g.json {
		fmt.Fprintf(a.stdout, "cycle %s COMPLETE", ms.cycleID)
		if o := str(result, "outcome"); o != "" {
			fmt.Fprintf(a.stdout, ": %s", o)
		}
		if d := between(str(cycle, "started"), str(cycle, "finished")); d != "" {
			fmt.Fprintf(a.stdout, " (%s)", d)
		}
		fmt.Fprintln(a.stdout)
	}

	again, err := a.call(ctx, req)
	if err != nil {
		return err
	}
	out["result"] = again
	if a.g.json {
		return writeJSON(a.stdout, out)
	}
	if ms2, ok := asMission(again); ok {
		// The cycle ended without teaching the object the message (a
		// text response, say): report the new mission, do not chase it.
		fmt.Fprintf(a.stdout, "sent again, the message started another cycle:\n")
		a.printMission(ms2)
		return nil
	}
	fmt.Fprintln(a.stdout, formatValue(again))
	return nil
}

func (a *app) printMission(ms mission) {
	if ms.message != "" {
		fmt.Fprintln(a.stdout, ms.message)
	}
	fmt.Fprintf(a.stdout, "cycle %s", ms.cycleID)
	if ms.target != nil {
		fmt.Fprintf(a.stdout, " (target %s)", formatValue(ms.target))
	}
	fmt.Fprintln(a.stdout)
}

// waitCycle polls show_cycle until the cycle ends, printing each state it
// enters (unless --json), and returns the last show_cycle result.
func (a *app) waitCycle(ctx context.Context, id string) (map[string]any, error) {
	printed := 0
	tick := time.NewTicker(a.pollInterval)
	defer tick.Stop()
	for {
		res, err := a.call(ctx, &wire.Request{Command: wire.CmdShowCycle, CycleID: id})
		if err != nil {
			return nil, err
		}
		cycle, ok := res.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("show_cycle %s: unexpected result %s", id, formatValue(res))
		}
		if !a.g.json {
			trans := list(cycle, "transitions")
			for _, t := range trans[min(printed, len(trans)):] {
				if tm, ok := t.(map[string]any); ok {
					fmt.Fprintf(a.stdout, "  %s\n", str(tm, "state"))
				}
			}
			printed = max(printed, len(trans))
		}
		switch str(cycle, "state") {
		case stateComplete, stateFailed, stateAborted:
			return cycle, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}
