package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/batos/batos/bridge/wire"
)

func setCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("set", pos, "TARGET", "SLOT", "JSON-VALUE|@REF"); err != nil {
			return err
		}
		target, err := parseTarget(pos[0])
		if err != nil {
			return err
		}
		var v any
		if ref, ok := strings.CutPrefix(pos[2], "@"); ok {
			if v, err = a.reference(ctx, ref); err != nil {
				return err
			}
		} else if v, err = parseJSON(pos[2]); err != nil {
			return usagef("set: %q is not JSON (%v); quote strings: '\"text\"', and write a reference as @OID or @NAME", pos[2], err)
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

// reference returns the value that refers to the object ref names, an
// OID or (looked up with inspect) a name: wire.RefValue's {"oid": N}.
func (a *app) reference(ctx context.Context, ref string) (wire.Map, error) {
	r, err := parseTarget(ref)
	if err != nil {
		return nil, usagef("set: @%s: %v", ref, err)
	}
	if r.ByOID {
		return wire.RefValue(r.OID), nil
	}
	res, err := a.call(ctx, &wire.Request{Command: wire.CmdInspect, Target: r})
	if err != nil {
		return nil, err
	}
	var info wire.ObjectInfo
	if err := (wire.Value{V: res}).Decode(&info); err != nil {
		return nil, fmt.Errorf("set: @%s: unexpected inspect result: %w", ref, err)
	}
	return wire.RefValue(info.OID), nil
}
