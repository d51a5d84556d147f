package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	dir := t.TempDir()
	n := 0
	file := func(body string) string {
		n++
		p := filepath.Join(dir, fmt.Sprintf("c%d.json", n))
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name    string
		args    []string
		wantErr bool
		check   func(config) bool
	}{
		{"defaults", nil, false, func(c config) bool { return c.Endpoint == "tcp://127.0.0.1:5555" && c.Workers == 1 }},
		{"flags", []string{"-workers", "3", "-gpu-layers", "-1"}, false, func(c config) bool { return c.Workers == 3 && c.GPULayers == -1 }},
		{"file durations", []string{"-config", file(`{"drain": "3s", "heartbeat": 2, "gpu-layers": 33}`)}, false,
			func(c config) bool {
				return c.Drain == 3*time.Second && c.Heartbeat == 2*time.Second && c.GPULayers == 33
			}},
		{"flags win over file", []string{"-config", file(`{"workers": 5}`), "-workers", "2"}, false, func(c config) bool { return c.Workers == 2 }},
		{"unknown key", []string{"-config", file(`{"wokers": 5}`)}, true, nil},
		{"bad duration", []string{"-config", file(`{"drain": "soon"}`)}, true, nil},
		{"curve half", []string{"-curve-secret", "k"}, true, nil},
		{"stray argument", []string{"extra"}, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseConfig(c.args)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if err == nil && !c.check(cfg) {
				t.Fatalf("config = %+v", cfg)
			}
		})
	}
}
