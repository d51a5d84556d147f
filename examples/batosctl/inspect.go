package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/batos/batos/bridge/wire"
)

func inspectCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("inspect", pos, "TARGET"); err != nil {
			return err
		}
		target, err := parseTarget(pos[0])
		if err != nil {
			return err
		}
		res, err := a.call(ctx, &wire.Request{Command: wire.CmdInspect, Target: target})
		if err != nil {
			return err
		}
		if a.g.json {
			return writeJSON(a.stdout, res)
		}
		var info wire.ObjectInfo
		if err := (wire.Value{V: res}).Decode(&info); err != nil {
			return fmt.Errorf("inspect: unexpected result: %w", err)
		}
		a.printObject(&info)
		return nil
	}
}

func (a *app) printObject(info *wire.ObjectInfo) {
	w := a.stdout
	if info.Name != "" {
		fmt.Fprintf(w, "%s (oid %d)\n", info.Name, info.OID)
	} else {
		fmt.Fprintf(w, "oid %d\n", info.OID)
	}
	if info.Repr != "" {
		fmt.Fprintf(w, "  %s\n", info.Repr)
	}
	parents := make([]string, len(info.Parents))
	for i, p := range info.Parents {
		parents[i] = p.String()
	}
	if len(parents) == 0 {
		parents = []string{"none"}
	}
	fmt.Fprintf(w, "parents: %s\n", strings.Join(parents, ", "))

	fmt.Fprintf(w, "slots (%d):\n", len(info.Slots))
	tw := newTable(w, 2)
	for _, s := range info.Slots {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, s.Kind, shorten(formatSlotValue(s.Value.V), 100))
	}
	tw.Flush()

	fmt.Fprintf(w, "methods (%d):\n", len(info.Methods))
	for _, m := range info.Methods {
		if m.Native {
			fmt.Fprintf(w, "  %s  (native)\n", m.Name)
			continue
		}
		var about, audit []string
		var other []wire.Finding
		if m.CycleID != "" {
			about = append(about, "cycle "+m.CycleID)
		}
		for _, f := range m.Findings {
			switch f.Rule {
			case "author":
				about = append(about, "author "+f.Message)
			case "verdict":
				about = append(about, "audit "+f.Message)
			case "audit":
				audit = append(audit, f.Message)
			default:
				other = append(other, f)
			}
		}
		if len(about) > 0 {
			fmt.Fprintf(w, "  %s  (%s)\n", m.Name, strings.Join(about, ", "))
		} else {
			fmt.Fprintf(w, "  %s\n", m.Name)
		}
		if len(audit)+len(other) > 0 {
			fmt.Fprintln(w, "    findings:")
			for _, s := range audit {
				fmt.Fprintf(w, "      - %s\n", s)
			}
			for _, f := range other {
				fmt.Fprintf(w, "      - %s\n", formatFinding(f))
			}
		}
		if m.Source != "" {
			fmt.Fprintln(w, "    source:")
			fmt.Fprint(w, indent(m.Source, "      "))
		}
	}
}

// formatFinding renders a finding with a rule of its own: "rule (severity,
// line N): message".
func formatFinding(f wire.Finding) string {
	var tags []string
	if f.Severity != "" {
		tags = append(tags, f.Severity)
	}
	if f.Line > 0 {
		tags = append(tags, fmt.Sprintf("line %d", f.Line))
	}
	s := f.Rule
	if len(tags) > 0 {
		s += " (" + strings.Join(tags, ", ") + ")"
	}
	if s == "" {
		return f.Message
	}
	return s + ": " + f.Message
}
