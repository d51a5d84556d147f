package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batos/batos/bridge"
	zmq "github.com/pebbe/zmq4"
)

func TestRun(t *testing.T) {
	if !zmq.HasCurve() {
		t.Skip("libzmq without CURVE")
	}
	dir := filepath.Join(t.TempDir(), "keys")
	var out, errb bytes.Buffer
	if err := run([]string{"-dir", dir, "server", "client"}, &out, &errb); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	for _, name := range []string{"server", "client"} {
		kp, err := bridge.ReadKeyFile(filepath.Join(dir, name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), name+": public key "+kp.Public) {
			t.Errorf("output %q lacks %s's public key", out.String(), name)
		}
		for _, ext := range []string{".key", ".pub"} {
			fi, err := os.Stat(filepath.Join(dir, name+ext))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s%s: %v, %v", name, ext, fi.Mode(), err)
			}
		}
	}
	if err := run([]string{"-dir", dir, "server"}, &out, &errb); err == nil {
		t.Error("overwrote an existing key")
	}
	if err := run(nil, &out, &errb); err == nil {
		t.Error("no name accepted")
	}
}
