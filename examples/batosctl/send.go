package main

import (
	"context"
	"errors"
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

// busyRetry is how long send --wait waits before it asks again when the
// daemon holds as many waits as it will.
const busyRetry = time.Second

func sendCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	argsJSON := fs.String("args", "", "positional arguments as a JSON `array`, e.g. '[1, \"two\"]'")
	kwargsJSON := fs.String("kwargs", "", "keyword arguments as a JSON `object`, e.g. '{\"n\": 3}'")
	wait := fs.Bool("wait", false, "when the message starts a cognitive cycle, wait for its end (wait_cycle) and send the message again if it is COMPLETE")
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
		return a.send(ctx, req, *wait)
	}
}

func (a *app) send(ctx context.Context, req *wire.Request, wait bool) error {
	res, err := a.call(ctx, req)
	if err != nil {
		return err
	}
	ms, ok := wire.Value{V: res}.Mission()
	if !ok || !wait {
		if a.g.json {
			return writeJSON(a.stdout, res)
		}
		if ok {
			a.printMission(ms)
			fmt.Fprintf(a.stdout, "follow it with: batosctl cycle %s\n", ms.CycleID)
			return nil
		}
		fmt.Fprintln(a.stdout, formatValue(res))
		return nil
	}

	if !a.g.json {
		a.printMission(ms)
	}
	raw, cycle, err := a.waitCycle(ctx, ms.CycleID)
	if err != nil {
		return err
	}
	out := map[string]any{"dispatch": res, "cycle": raw}
	if cycle.State != stateComplete {
		if a.g.json {
			if err := writeJSON(a.stdout, out); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(a.stdout, "cycle %s %s", ms.CycleID, cycle.State)
			if d := between(cycle.Started, cycle.Finished); d != "" {
				fmt.Fprintf(a.stdout, " after %s", d)
			}
			fmt.Fprintf(a.stdout, "\nsee the trace with: batosctl cycle %s\n", ms.CycleID)
		}
		return &cycleFailedError{id: ms.CycleID, state: cycle.State, reason: cycle.Error}
	}
	if !a.g.json {
		fmt.Fprintf(a.stdout, "cycle %s COMPLETE", ms.CycleID)
		if cycle.Result != nil && cycle.Result.Outcome != "" {
			fmt.Fprintf(a.stdout, ": %s", cycle.Result.Outcome)
		}
		if d := between(cycle.Started, cycle.Finished); d != "" {
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
	if ms2, ok := (wire.Value{V: again}).Mission(); ok {
		// The cycle ended without teaching the object the message (a
		// text response, say): report the new mission, do not chase it.
		fmt.Fprintf(a.stdout, "sent again, the message started another cycle:\n")
		a.printMission(ms2)
		return nil
	}
	fmt.Fprintln(a.stdout, formatValue(again))
	return nil
}

func (a *app) printMission(ms *wire.MissionStarted) {
	if ms.Message != "" {
		fmt.Fprintln(a.stdout, ms.Message)
	}
	fmt.Fprintf(a.stdout, "cycle %s", ms.CycleID)
	if ms.Target != 0 {
		fmt.Fprintf(a.stdout, " (target %d)", ms.Target)
	}
	fmt.Fprintln(a.stdout)
}

// waitCycle waits for the cycle to end with wait_cycle, asking again each
// time a wait's deadline (wire.DefaultWaitTimeout) passes first, and
// after busyRetry when the daemon holds all the waits it will. It prints
// the states the cycle went through (unless --json) and returns the
// cycle as it came and decoded.
func (a *app) waitCycle(ctx context.Context, id string) (any, *wire.CycleInfo, error) {
	step := wire.DefaultWaitTimeout
	req := &wire.Request{Command: wire.CmdWaitCycle, CycleID: id, TimeoutMS: step.Milliseconds()}
	for {
		// The reply may take the whole wait, then the usual reply time.
		res, err := a.callWithin(ctx, req, step+a.g.timeout)
		var re *wire.ReplyError
		switch {
		case errors.As(err, &re) && (re.Code == wire.CodeDeadlineExceeded || re.Code == wire.CodeTimeout):
			continue // the cycle is still running
		case errors.As(err, &re) && re.Code == wire.CodeBusy:
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(busyRetry):
			}
			continue
		case err != nil:
			return nil, nil, err
		}
		var c wire.CycleInfo
		if err := (wire.Value{V: res}).Decode(&c); err != nil {
			return nil, nil, fmt.Errorf("wait_cycle %s: unexpected result: %w", id, err)
		}
		if !a.g.json {
			for _, t := range c.Transitions {
				fmt.Fprintf(a.stdout, "  %s\n", t.State)
			}
		}
		return res, &c, nil
	}
}
