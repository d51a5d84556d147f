package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tinylib/msgp/msgp"

	"github.com/batos/batos/bridge/wire"
)

// readInput reads a file, or stdin for "-".
func (a *app) readInput(cmd, name string) (string, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(a.stdin)
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return "", usagef("%s: %v", cmd, err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", usagef("%s: %s is empty", cmd, name)
	}
	return string(b), nil
}

// callDecode sends req and decodes the result into out, or prints it as
// JSON with --json (then done is true).
func (a *app) callDecode(ctx context.Context, req *wire.Request, out msgp.Unmarshaler) (done bool, err error) {
	res, err := a.call(ctx, req)
	if err != nil {
		return false, err
	}
	if a.g.json {
		return true, writeJSON(a.stdout, res)
	}
	if out == nil {
		return false, nil
	}
	if err := (wire.Value{V: res}).Decode(out); err != nil {
		return false, fmt.Errorf("%s: unexpected result: %w", req.Command, err)
	}
	return false, nil
}

func defineMethodCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("define", pos, "TARGET", "SELECTOR", "FILE|-"); err != nil {
			return err
		}
		target, err := parseTarget(pos[0])
		if err != nil {
			return err
		}
		src, err := a.readInput("define", pos[2])
		if err != nil {
			return err
		}
		var mi wire.MethodInstalled
		if done, err := a.callDecode(ctx, &wire.Request{Command: wire.CmdDefineMethod, Target: target, Slot: pos[1], Source: src}, &mi); done || err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s.%s installed (version %d, audited)\n", target, mi.Selector, mi.Version)
		return nil
	}
}

func historyCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	source := fs.Bool("source", false, "print each version's source")
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("history", pos, "TARGET", "SELECTOR"); err != nil {
			return err
		}
		target, err := parseTarget(pos[0])
		if err != nil {
			return err
		}
		var h wire.MethodHistory
		if done, err := a.callDecode(ctx, &wire.Request{Command: wire.CmdMethodHistory, Target: target, Slot: pos[1]}, &h); done || err != nil {
			return err
		}
		for _, v := range h.Versions {
			mark := " "
			if v.Current {
				mark = "*"
			}
			by := v.Author
			if v.Cycle != 0 {
				by += fmt.Sprintf(" (cycle %d)", v.Cycle)
			}
			fmt.Fprintf(a.stdout, "%s v%-3d %s  %-8s %s  %s\n", mark, v.Version, v.Installed, v.Verdict, by, v.Note)
			if *source {
				for _, l := range strings.Split(strings.TrimRight(v.Source, "\n"), "\n") {
					fmt.Fprintf(a.stdout, "      | %s\n", l)
				}
			}
		}
		return nil
	}
}

func revertCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("revert", pos, "TARGET", "SELECTOR", "VERSION"); err != nil {
			return err
		}
		target, err := parseTarget(pos[0])
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(pos[2], "v"), 10, 64)
		if err != nil || n <= 0 {
			return usagef("revert: %q is not a version number", pos[2])
		}
		var mi wire.MethodInstalled
		if done, err := a.callDecode(ctx, &wire.Request{Command: wire.CmdRevertMethod, Target: target, Slot: pos[1], Version: n}, &mi); done || err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s.%s: version %d reinstalled as version %d (audited again)\n", target, mi.Selector, n, mi.Version)
		return nil
	}
}

func cloneCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	name := fs.String("name", "", "name the clone as the root `ROOT`")
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("clone", pos, "TARGET"); err != nil {
			return err
		}
		target, err := parseTarget(pos[0])
		if err != nil {
			return err
		}
		var c wire.Cloned
		if done, err := a.callDecode(ctx, &wire.Request{Command: wire.CmdClone, Target: target, Root: *name}, &c); done || err != nil {
			return err
		}
		if c.Root != "" {
			fmt.Fprintf(a.stdout, "%s cloned as %s (oid %d)\n", target, c.Root, c.OID)
		} else {
			fmt.Fprintf(a.stdout, "%s cloned as oid %d\n", target, c.OID)
		}
		return nil
	}
}

func grantCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("grant", pos, "TARGET", "SLOT", "CAPABILITY"); err != nil {
			return err
		}
		target, err := parseTarget(pos[0])
		if err != nil {
			return err
		}
		var g wire.CapabilityGranted
		if done, err := a.callDecode(ctx, &wire.Request{Command: wire.CmdGrantCapability, Target: target, Slot: pos[1], Capability: pos[2]}, &g); done || err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s.%s = @%d (capability %s)\n", target, g.Slot, g.Object, g.Capability)
		return nil
	}
}

func removeSlotCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("remove", pos, "TARGET", "SLOT"); err != nil {
			return err
		}
		target, err := parseTarget(pos[0])
		if err != nil {
			return err
		}
		if done, err := a.callDecode(ctx, &wire.Request{Command: wire.CmdRemoveSlot, Target: target, Slot: pos[1]}, nil); done || err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s.%s removed\n", target, pos[1])
		return nil
	}
}

func exportCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		var e wire.Exported
		if done, err := a.callDecode(ctx, &wire.Request{Command: wire.CmdExport, Targets: pos}, &e); done || err != nil {
			return err
		}
		_, err := io.WriteString(a.stdout, e.Lines)
		return err
	}
}

func importCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("import", pos, "FILE|-"); err != nil {
			return err
		}
		text, err := a.readInput("import", pos[0])
		if err != nil {
			return err
		}
		var im wire.Imported
		if done, err := a.callDecode(ctx, &wire.Request{Command: wire.CmdImport, Text: text}, &im); done || err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "imported %d object(s), %d method(s) audited\n", im.Objects, im.Methods)
		return nil
	}
}

func backupCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("backup", pos, "DIR"); err != nil {
			return err
		}
		dir, err := filepath.Abs(pos[0])
		if err != nil {
			return usagef("backup: %v", err)
		}
		var b wire.BackedUp
		if done, err := a.callDecode(ctx, &wire.Request{Command: wire.CmdBackup, Path: dir}, &b); done || err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "backup of a %d-byte image written to %s on the daemon's host (batosd -data %s opens it)\n", b.Bytes, b.Path, b.Path)
		return nil
	}
}

func gcCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	dry := fs.Bool("dry-run", false, "list what would be deleted")
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("gc", pos); err != nil {
			return err
		}
		var c wire.Collected
		if done, err := a.callDecode(ctx, &wire.Request{Command: wire.CmdCollectBlobs, DryRun: *dry}, &c); done || err != nil {
			return err
		}
		var total int64
		for _, b := range c.Blobs {
			total += b.Size
			fmt.Fprintf(a.stdout, "blob %d  %d bytes  sha256 %s\n", b.ID, b.Size, b.SHA256)
		}
		verb := "deleted"
		if !c.Deleted {
			verb = "would delete"
		}
		fmt.Fprintf(a.stdout, "%s %d unreferenced blob(s), %d bytes\n", verb, len(c.Blobs), total)
		return nil
	}
}
