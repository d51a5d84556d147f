package bridge_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batos/batos/bridge"
	zmq "github.com/pebbe/zmq4"
)

func TestKeyFiles(t *testing.T) {
	if !zmq.HasCurve() {
		t.Skip("libzmq without CURVE")
	}
	dir := t.TempDir()
	kp, err := bridge.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	secPath, pubPath, err := bridge.WriteKeyPair(dir, "server", kp)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{secPath, pubPath} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	got, err := bridge.ReadKeyFile(secPath)
	if err != nil || got != kp {
		t.Fatalf("ReadKeyFile(.key) = %+v, %v", got, err)
	}
	got, err = bridge.ReadKeyFile(pubPath)
	if err != nil || got != (bridge.KeyPair{Public: kp.Public}) {
		t.Fatalf("ReadKeyFile(.pub) = %+v, %v", got, err)
	}
	if _, _, err := bridge.WriteKeyPair(dir, "server", kp); err == nil {
		t.Fatal("WriteKeyPair overwrote a key")
	}
	other, _ := bridge.GenerateKeyPair()
	bad := filepath.Join(dir, "mismatch.key")
	os.WriteFile(bad, []byte("public-key = \""+other.Public+"\"\nsecret-key = \""+kp.Secret+"\"\n"), 0o600)
	if _, err := bridge.ReadKeyFile(bad); !errors.Is(err, bridge.ErrKeyFile) {
		t.Fatalf("mismatched pair: %v", err)
	}
	os.WriteFile(bad, []byte("public-key = \"short\"\n"), 0o600)
	if _, err := bridge.ReadKeyFile(bad); !errors.Is(err, bridge.ErrKeyFile) {
		t.Fatalf("short key: %v", err)
	}
}

func TestCurve(t *testing.T) {
	if !zmq.HasCurve() {
		t.Skip("libzmq without CURVE")
	}
	srvKeys, _ := bridge.GenerateKeyPair()
	allowed, _ := bridge.GenerateKeyPair()
	stranger, _ := bridge.GenerateKeyPair()
	// Keys go through files as a deployment would use them (cmd/batoskey).
	dir := t.TempDir()
	bridge.WriteKeyPair(dir, "server", srvKeys)
	bridge.WriteKeyPair(dir, "client", allowed)
	srvCurve, err := bridge.LoadCurveOptions(filepath.Join(dir, "server.key"), filepath.Join(dir, "client.pub"))
	if err != nil {
		t.Fatal(err)
	}
	cliCurve, err := bridge.LoadClientCurve(filepath.Join(dir, "server.pub"), filepath.Join(dir, "client.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bridge.LoadCurveOptions(filepath.Join(dir, "server.pub")); !errors.Is(err, bridge.ErrKeyFile) {
		t.Fatalf("server .pub accepted as a secret key: %v", err)
	}
	s := serve(t, echo, bridge.Options{Curve: srvCurve})

	c := dial(t, s.Endpoint(), bridge.ClientOptions{Curve: cliCurve})
	wantCode(t, call(t, c, msg("secure")), "")

	refused := map[string]bridge.ClientOptions{
		"unknown-key":      {Curve: &bridge.ClientCurve{ServerKey: srvKeys.Public, Public: stranger.Public, Secret: stranger.Secret}},
		"wrong-server-key": {Curve: &bridge.ClientCurve{ServerKey: stranger.Public, Public: allowed.Public, Secret: allowed.Secret}},
		"plaintext":        {},
	}
	for name, opts := range refused {
		t.Run(name, func(t *testing.T) {
			rc := dial(t, s.Endpoint(), opts)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			rep, err := rc.Call(ctx, msg("intrude"))
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("refused client got %+v, %v", rep, err)
			}
		})
	}
	t.Run("python", func(t *testing.T) {
		py := "/usr/bin/python3"
		if err := exec.Command(py, "-c", "import zmq, msgpack; assert zmq.has('curve')").Run(); err != nil {
			t.Fatalf("python3-zmq with CURVE is required (make deps installs it): %v", err)
		}
		out, err := exec.Command(py, filepath.Join("testdata", "pyclient.py"), s.Endpoint(), "dealer",
			srvKeys.Public, allowed.Public, allowed.Secret).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "ok dispatch") {
			t.Fatalf("pyclient with CURVE: %v\n%s", err, out)
		}
	})
	// The allowed client is still served after the refusals.
	wantCode(t, call(t, c, msg("again")), "")

	if _, err := bridge.NewServer(echo, bridge.Options{Endpoint: "tcp://127.0.0.1:*",
		Curve: &bridge.CurveOptions{SecretKey: "not a key"}}); !errors.Is(err, bridge.ErrBadKey) {
		t.Fatalf("bad secret key: %v", err)
	}
}
