package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/batos/batos/bridge/wire"
)

func setCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("set", pos, "TARGET", "SLOT", "JSON-VALUE"); err != nil {
			return err
		}
		target, err := parseTarget(pos[0])
		if err != nil {
			return err
		}
		v, err := parseJSON(pos[2])
		if err != nil {
			return usagef("set: %q is not JSON (%v); quote strings: '\"text\"'", pos[2], err)
		}
		res, err := a.call(ctx, &wire.Request{Command: wire.CmdSetSlot, Target: target, Slot: pos[1], Value: wire.Value{V: v}})
		if err != nil {
			return err
		}
		if a.g.json {
			return writeJSON(a.stdout, res)
		}
		fmt.Fprintf(a.stdout, "%s.%s = %s\n", target, pos[1], formatSlotValue(v))
		return nil
	}
}
