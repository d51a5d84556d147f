package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/batos/batos/bridge/wire"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
)

// The architect's commands shape objects by hand; the operator's keep
// the image. Each is one call of the vm or object API.

func (h *handler) defineMethod(ctx context.Context, req *wire.Request) (any, error) {
	target := req.Target.String()
	if err := h.vm.SetSlot(ctx, target, req.Slot, &object.Method{Source: req.Source}); err != nil {
		return nil, err
	}
	return h.installed(ctx, target, req.Slot)
}

// installed reports the version target's method selector now has.
func (h *handler) installed(ctx context.Context, target, selector string) (any, error) {
	hist, err := h.vm.MethodHistory(ctx, target, selector)
	if err != nil {
		return nil, err
	}
	for _, mv := range hist {
		if mv.Current {
			return &wire.MethodInstalled{Target: uint64(mv.Target), Selector: selector, Version: mv.Version}, nil
		}
	}
	return nil, fmt.Errorf("%w: %s has no method %s", object.ErrNotFound, target, selector)
}

func (h *handler) methodHistory(ctx context.Context, req *wire.Request) (any, error) {
	hist, err := h.vm.MethodHistory(ctx, req.Target.String(), req.Slot)
	if err != nil {
		return nil, err
	}
	out := &wire.MethodHistory{Selector: req.Slot, Versions: []wire.MethodVersionInfo{}}
	for _, mv := range hist {
		out.Target = uint64(mv.Target)
		out.Versions = append(out.Versions, wire.MethodVersionInfo{
			Version: mv.Version, Source: mv.Source, Author: mv.Author, Cycle: uint64(mv.Cycle),
			Verdict: mv.Verdict, Installed: stamp(mv.Installed), Note: mv.Note, Current: mv.Current,
		})
	}
	if len(out.Versions) == 0 {
		return nil, fmt.Errorf("%w: %s has never had a method %s", object.ErrNotFound, req.Target, req.Slot)
	}
	return out, nil
}

func (h *handler) revertMethod(ctx context.Context, req *wire.Request) (any, error) {
	if _, err := h.vm.RevertMethod(ctx, req.Target.String(), req.Slot, req.Version); err != nil {
		return nil, err
	}
	return h.installed(ctx, req.Target.String(), req.Slot)
}

func (h *handler) clone(ctx context.Context, req *wire.Request) (any, error) {
	oid, err := h.vm.CloneObject(ctx, req.Target.String(), req.Root)
	if err != nil {
		return nil, err
	}
	return &wire.Cloned{OID: uint64(oid), Root: req.Root}, nil
}

func (h *handler) removeSlot(ctx context.Context, req *wire.Request) (any, error) {
	if err := h.vm.RemoveSlot(ctx, req.Target.String(), req.Slot); err != nil {
		return nil, err
	}
	return true, nil
}

func (h *handler) export(ctx context.Context, req *wire.Request) (any, error) {
	var buf bytes.Buffer
	n, err := vm.Export(ctx, h.store, &buf, req.Targets...)
	if err != nil {
		return nil, err
	}
	if buf.Len() > maxExportBytes {
		return nil, fmt.Errorf("%w: the export is %d bytes, over the %d a reply carries; export fewer objects", errBadArgument, buf.Len(), maxExportBytes)
	}
	return &wire.Exported{Objects: int64(n), Lines: buf.String()}, nil
}

// maxExportBytes keeps an export's reply under the bridge's message bound.
const maxExportBytes = 32 << 20

func (h *handler) importObjects(ctx context.Context, req *wire.Request) (any, error) {
	st, err := vm.Import(ctx, h.store, strings.NewReader(req.Text))
	if err != nil {
		return nil, err
	}
	return &wire.Imported{Objects: int64(st.Objects), Methods: int64(st.Methods)}, nil
}

func (h *handler) backup(ctx context.Context, req *wire.Request) (any, error) {
	if !filepath.IsAbs(req.Path) {
		return nil, fmt.Errorf("%w: path %q is not absolute (it names a directory on the daemon's host)", errBadArgument, req.Path)
	}
	if _, err := os.Lstat(req.Path); err == nil {
		return nil, fmt.Errorf("%w: %s exists; a backup goes to a new directory", errBadArgument, req.Path)
	}
	sp, err := h.store.Space()
	if err != nil {
		return nil, err
	}
	// Laid out as a data directory: batosd -data PATH opens the copy (the
	// model and adapter cache files are written again from its blobs).
	if err := os.MkdirAll(req.Path, 0o755); err != nil {
		return nil, err
	}
	if err := h.store.Backup(ctx, filepath.Join(req.Path, imageDir)); err != nil {
		return nil, err
	}
	return &wire.BackedUp{Path: req.Path, Bytes: sp.Used}, nil
}

func (h *handler) collectBlobs(ctx context.Context, req *wire.Request) (any, error) {
	collect := h.store.CollectBlobs
	if req.DryRun {
		collect = h.store.UnreferencedBlobs
	}
	blobs, err := collect(ctx)
	if err != nil {
		return nil, err
	}
	out := &wire.Collected{Blobs: []wire.BlobInfo{}, Deleted: !req.DryRun}
	for _, b := range blobs {
		out.Blobs = append(out.Blobs, wire.BlobInfo{ID: b.ID, Size: b.Size, SHA256: b.Hex()})
	}
	return out, nil
}
