package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/wire"
)

// A full disk under the real daemon: with its data directory on a small
// tmpfs filled to below the reserve, a write is answered "unavailable"
// and changes nothing, reads keep being answered, and once space is freed
// writes resume without a restart; a restart finds every acknowledged
// write. It needs root (to mount the tmpfs).
func TestDiskFullDaemon(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a size-limited tmpfs (make test runs as root on the CI machine)")
	}
	data := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=384m", "tmpfs", data).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", data).Run() })
	endpoint := freeEndpoint(t)
	d := startDaemon(t, data, endpoint, "-min-free-mb", "16", "-warn-free-mb", "32")
	c, err := bridge.Dial(context.Background(), endpoint, bridge.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	set := func(v string) *wire.Reply {
		t.Helper()
		return callReply(t, c, &wire.Request{Command: wire.CmdSetSlot, Target: wire.Named("genesis_obj"), Slot: "motto", Value: wire.Value{V: v}})
	}
	if rep := set("before"); rep.Status != wire.StatusOK {
		t.Fatalf("set before: %s %s", rep.Code, rep.Message)
	}
	filler := filepath.Join(data, "filler")
	fill(t, filler, data, 8<<20)
	if rep := set("during"); rep.Status == wire.StatusOK || rep.Code != wire.CodeUnavailable || !strings.Contains(rep.Message, "disk") {
		t.Fatalf("set on a full disk: %s %s %q", rep.Status, rep.Code, rep.Message)
	}
	if slots := ownSlots(t, c); !strings.Contains(slots, "before") || strings.Contains(slots, "during") {
		t.Fatalf("read on a full disk: %s", slots)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if rep := set("after"); rep.Status != wire.StatusOK {
		t.Fatalf("set after space was freed: %s %s", rep.Code, rep.Message)
	}
	d.stop(syscall.SIGTERM)
	if log := d.logText(); strings.Contains(log, "panic") {
		t.Fatalf("the daemon panicked:\n%s", log)
	}
	startDaemon(t, data, endpoint)
	c2, err := bridge.Dial(context.Background(), endpoint, bridge.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if slots := ownSlots(t, c2); !strings.Contains(slots, "after") {
		t.Fatalf("after a restart: %s", slots)
	}
}

// fill writes path until the file system holding dir has less than left
// bytes free.
func fill(t *testing.T, path, dir string, left int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		free := int64(st.Bavail) * int64(st.Bsize)
		if free < left {
			return
		}
		n := min(int64(len(chunk)), free-left/2)
		if _, err := f.Write(chunk[:n]); err != nil {
			return // ENOSPC: full enough
		}
	}
}
