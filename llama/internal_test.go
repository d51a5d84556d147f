package llama

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTextStream(t *testing.T) {
	tests := []struct {
		name   string
		stops  []string
		pieces []string
		want   []string // released text per piece, then the flush
		text   string
		stop   bool
	}{
		{"plain", nil, []string{"ab", "c"}, []string{"ab", "c", ""}, "abc", false},
		{"split rune", nil, []string{"a\xe4", "\xb8", "\x96b"}, []string{"a", "", "世b", ""}, "a世b", false},
		{"invalid byte", nil, []string{"a\xff", "b"}, []string{"a\uFFFD", "b", ""}, "a\uFFFDb", false},
		{"cut rune at end", nil, []string{"a", "\xe4\xb8"}, []string{"a", "", ""}, "a", false},
		{"stop inside piece", []string{"END"}, []string{"abENDcd"}, []string{"ab", ""}, "ab", true},
		{"stop across pieces", []string{"END"}, []string{"abE", "N", "Dx"}, []string{"ab", "", "", ""}, "ab", true},
		{"false alarm", []string{"END"}, []string{"abE", "Nx"}, []string{"ab", "ENx", ""}, "abENx", false},
		{"held at end", []string{"END"}, []string{"abEN"}, []string{"ab", "EN"}, "abEN", false},
		{"earliest of two", []string{"cd", "b"}, []string{"abcd"}, []string{"a", ""}, "a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := textStream{stops: tt.stops}
			var got []string
			stopped := false
			for _, p := range tt.pieces {
				out, st := s.add([]byte(p))
				got = append(got, out)
				if st {
					stopped = true
					break
				}
			}
			got = append(got, s.flush())
			if !reflect.DeepEqual(got, tt.want) || s.String() != tt.text || stopped != tt.stop {
				t.Errorf("got %q text %q stop %v; want %q text %q stop %v", got, s.String(), stopped, tt.want, tt.text, tt.stop)
			}
			if !utf8.ValidString(strings.Join(got, "")) {
				t.Errorf("released invalid UTF-8")
			}
		})
	}
}

func TestPlacement(t *testing.T) {
	tests := []struct {
		name   string
		layers int
		ngl    int
		split  []float32
		gpus   []string
		want   []DeviceLayers
		output string
	}{
		{"cpu only", 8, 99, nil, nil, []DeviceLayers{{"CPU", 8}}, "CPU"},
		{"no offload", 8, 0, nil, []string{"CUDA0"}, []DeviceLayers{{"CPU", 8}}, "CPU"},
		{"some", 8, 3, nil, []string{"CUDA0"}, []DeviceLayers{{"CPU", 5}, {"CUDA0", 3}}, "CPU"},
		{"repeating layers, output on the CPU", 8, 8, nil, []string{"CUDA0"}, []DeviceLayers{{"CUDA0", 8}}, "CPU"},
		{"all", 8, 1 << 20, nil, []string{"CUDA0"}, []DeviceLayers{{"CUDA0", 8}}, "CUDA0"},
		{"split", 8, 9, []float32{1, 1}, []string{"CUDA0", "CUDA1"}, []DeviceLayers{{"CUDA0", 5}, {"CUDA1", 3}}, "CUDA1"},
		{"uneven split", 8, 9, []float32{3, 1}, []string{"CUDA0", "CUDA1"}, []DeviceLayers{{"CUDA0", 7}, {"CUDA1", 1}}, "CUDA1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, out := placement(tt.layers, tt.ngl, tt.split, tt.gpus)
			if !reflect.DeepEqual(got, tt.want) || out != tt.output {
				t.Errorf("got %v output %s, want %v output %s", got, out, tt.want, tt.output)
			}
		})
	}
}

func TestFormatChat(t *testing.T) {
	got, err := FormatChat([]Message{{Role: "system", Content: " Be brief. "}, {Role: "user", Content: "Hi"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
		"<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
		"<|start_header_id|>assistant<|end_header_id|>\n\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
