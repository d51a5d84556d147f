package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/batos/batos/bridge/wire"
)

func statusCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("status", pos); err != nil {
			return err
		}
		res, err := a.call(ctx, &wire.Request{Command: wire.CmdStatus})
		if err != nil {
			return err
		}
		if a.g.json {
			return writeJSON(a.stdout, res)
		}
		var st wire.StatusInfo
		if err := (wire.Value{V: res}).Decode(&st); err != nil {
			return fmt.Errorf("status: unexpected result: %w", err)
		}
		a.printStatus(&st)
		return nil
	}
}

// statusKeys are the Extra keys printStatus lays out itself; any other
// key is listed as it comes.
var statusKeys = map[string]bool{
	"device": true, "queue_depth": true, "queue_capacity": true, "workers": true,
	"cycles_done": true, "cycles_failed": true, "cycles_aborted": true, "adapters": true, "context_size": true,
	"layers": true, "gpu_layers": true,
}

func (a *app) printStatus(st *wire.StatusInfo) {
	x := map[string]any(st.Extra)
	tw := newTable(a.stdout, 1)
	field := func(name, format string, args ...any) {
		fmt.Fprintf(tw, "%s:\t"+format+"\n", append([]any{name}, args...)...)
	}
	if st.Version != "" {
		field("version", "%s", st.Version)
	}
	field("model", "%s", orDash(st.Model))
	if dev := str(x, "device"); dev != "" {
		field("device", "%s", dev)
		if _, ok := x["gpu_layers"]; ok {
			field("layers", "%s of %s offloaded to a GPU", integer(x, "gpu_layers"), integer(x, "layers"))
		} else if l := layersOffloaded(dev); l != "" {
			field("layers", "%s", l)
		}
	}
	if _, ok := x["context_size"]; ok {
		field("context", "%s tokens per prompt and output", integer(x, "context_size"))
	}
	field("uptime", "%s", (time.Duration(st.UptimeSeconds * float64(time.Second))).Round(time.Second))
	field("objects", "%d", st.Objects)
	cycles := fmt.Sprintf("%d (%d running)", st.Cycles, st.ActiveCycles)
	if _, ok := x["cycles_done"]; ok {
		cycles += fmt.Sprintf("; since start: %s done, %s failed, %s aborted",
			integer(x, "cycles_done"), integer(x, "cycles_failed"), integer(x, "cycles_aborted"))
	}
	field("cycles", "%s", cycles)
	if _, ok := x["queue_depth"]; ok {
		field("queue", "%s waiting of %s, %s worker(s)", integer(x, "queue_depth"), integer(x, "queue_capacity"), integer(x, "workers"))
	}
	if ad := dict(x, "adapters"); ad != nil {
		names := func(k string) string {
			var s []string
			for _, n := range list(ad, k) {
				s = append(s, formatValue(n))
			}
			if len(s) == 0 {
				return "-"
			}
			return strings.Join(s, ", ")
		}
		field("adapters hot", "%s", names("hot"))
		field("adapters warm", "%s", names("warm"))
		field("adapters cold", "%s", names("cold"))
		field("adapter hits", "hot %s, warm %s", integer(ad, "hot_hits"), integer(ad, "warm_hits"))
		field("adapter loads", "cold %s, hot %s", integer(ad, "cold_loads"), integer(ad, "hot_loads"))
		field("adapter evictions", "hot %s, warm %s", integer(ad, "hot_evictions"), integer(ad, "warm_evictions"))
	}
	for _, k := range sortedKeys(x) {
		if !statusKeys[k] {
			field(strings.ReplaceAll(k, "_", " "), "%s", formatValue(x[k]))
		}
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// layersOffloaded reads batosd's device text, "CUDA0:20,CPU:12
// output:CPU" (or "CPU"), and says how many layers live off the host:
// "20 of 32 offloaded, output layer on CPU". It returns "" for text of
// another form.
func layersOffloaded(dev string) string {
	if dev == "CPU" {
		return "none offloaded (CPU only)"
	}
	place, output, _ := strings.Cut(dev, " output:")
	var gpu, total int
	for part := range strings.SplitSeq(place, ",") {
		i := strings.LastIndexByte(part, ':')
		if i < 0 {
			return ""
		}
		n, err := strconv.Atoi(part[i+1:])
		if err != nil {
			return ""
		}
		total += n
		if part[:i] != "CPU" {
			gpu += n
		}
	}
	s := fmt.Sprintf("%d of %d offloaded", gpu, total)
	if output != "" {
		s += ", output layer on " + output
	}
	return s
}
