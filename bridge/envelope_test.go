package bridge

import (
	"reflect"
	"testing"
)

func TestSplitEnvelope(t *testing.T) {
	id, hop, e, p := []byte("id"), []byte("hop"), []byte{}, []byte("payload")
	tests := []struct {
		name    string
		frames  [][]byte
		env     [][]byte
		payload []byte
		ok      bool
	}{
		{"none", nil, nil, nil, false},
		{"identity-only", [][]byte{id}, [][]byte{id}, nil, false},
		{"dealer", [][]byte{id, p}, [][]byte{id}, p, true},
		{"req", [][]byte{id, e, p}, [][]byte{id, e}, p, true},
		{"proxy", [][]byte{id, hop, e, p}, [][]byte{id, hop, e}, p, true},
		{"empty-payload", [][]byte{id, e}, [][]byte{id}, e, true},
		{"req-empty-payload", [][]byte{id, e, e}, [][]byte{id, e}, e, true},
		{"two-payloads", [][]byte{id, p, p}, [][]byte{id}, nil, false},
		{"req-two-payloads", [][]byte{id, e, p, p}, [][]byte{id, e}, nil, false},
	}
	for _, tc := range tests {
		env, payload, ok := splitEnvelope(tc.frames)
		if !reflect.DeepEqual(env, tc.env) || !reflect.DeepEqual(payload, tc.payload) || ok != tc.ok {
			t.Errorf("%s: got %q %q %v, want %q %q %v", tc.name, env, payload, ok, tc.env, tc.payload, tc.ok)
		}
	}
}
