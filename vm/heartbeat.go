package vm

import (
	"context"
	"time"

	"github.com/batos/batos/object"
)

// autotelicLoop is the system's heartbeat: every Options.Heartbeat it
// starts a cognitive-efficiency self-audit mission on the orchestrator,
// built from the cycle log's statistics.
func (v *VM) autotelicLoop(ctx context.Context) {
	defer v.wg.Done()
	v.line("[UVM] Autotelic Heartbeat started.", "interval", v.opts.Heartbeat.String())
	t := time.NewTicker(v.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			v.line("[UVM] Autotelic Heartbeat stopped.")
			return
		case <-t.C:
			v.Pulse(ctx)
		}
	}
}

// Pulse runs one beat of the autotelic loop now: it starts a
// cognitive-efficiency self-audit mission on the orchestrator and returns
// its cycle id. A full queue skips the beat (ErrQueueFull).
func (v *VM) Pulse(ctx context.Context) (object.OID, error) {
	v.line("[UVM] Autotelic loop initiating Cognitive Efficiency Audit.")
	id, err := v.startMission(ctx, v.r.orchestrator, object.Map{
		"type":       object.String(MissionSelfAudit),
		"audit_type": object.String("cognitive_efficiency"),
		"statistics": object.String(v.cycleStats(ctx)),
	}, nil, nil)
	if err != nil {
		v.log.Warn("[UVM] Autotelic beat skipped.", "err", err)
	}
	return id, err
}
