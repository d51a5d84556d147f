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

func (a *app) printStatus(st *wire.StatusInfo) {
	tw := newTable(a.stdout, 1)
	field := func(name, format string, args ...any) {
		fmt.Fprintf(tw, "%s:\t"+format+"\n", append([]any{name}, args...)...)
	}
	if st.Version != "" {
		field("version", "%s", st.Version)
	}
	field("model", "%s", orDash(st.Model))
	if st.Device != "" {
		field("device", "%s", st.Device)
		if st.Layers > 0 {
			field("layers", "%d of %d offloaded to a GPU", st.GPULayers, st.Layers)
		} else if l := layersOffloaded(st.Device); l != "" {
			field("layers", "%s", l)
		}
	}
	if st.ContextSize > 0 {
		field("context", "%d tokens per prompt and output", st.ContextSize)
	}
	field("uptime", "%s", (time.Duration(st.UptimeSeconds * float64(time.Second))).Round(time.Second))
	field("objects", "%d", st.Objects)
	field("cycles", "%d (%d running); since start: %d done, %d failed, %d aborted",
		st.Cycles, st.ActiveCycles, st.CyclesDone, st.CyclesFailed, st.CyclesAborted)
	if st.QueueCapacity > 0 {
		field("queue", "%d waiting of %d, %d worker(s)", st.QueueDepth, st.QueueCapacity, st.Workers)
	}
	if st.ImageBytes > 0 {
		disk := fmt.Sprintf("image %s", mebibytes(st.ImageBytes))
		if st.FreeBytes >= 0 {
			disk += fmt.Sprintf(", %s free", mebibytes(st.FreeBytes))
		}
		field("disk", "%s", disk)
	}
	if ad := st.Adapters; ad != nil {
		names := func(s []string) string {
			if len(s) == 0 {
				return "-"
			}
			return strings.Join(s, ", ")
		}
		field("adapters hot", "%s", names(ad.Hot))
		field("adapters warm", "%s", names(ad.Warm))
		field("adapters cold", "%s", names(ad.Cold))
		field("adapter hits", "hot %d, warm %d", ad.HotHits, ad.WarmHits)
		field("adapter loads", "cold %d, hot %d", ad.ColdLoads, ad.HotLoads)
		field("adapter evictions", "hot %d, warm %d", ad.HotEvictions, ad.WarmEvictions)
	}
	for _, k := range sortedKeys(st.Extra) {
		field(strings.ReplaceAll(k, "_", " "), "%s", formatValue(st.Extra[k]))
	}
	tw.Flush()
}

// mebibytes renders n bytes in MiB, one decimal.
func mebibytes(n int64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
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
