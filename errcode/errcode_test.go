package errcode_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/batos/batos/errcode"
)

var errMissing = errcode.New(errcode.NotFound, "pkg: missing")

type wrapper struct{ err error }

func (w *wrapper) Error() string { return "wrapped: " + w.err.Error() }
func (w *wrapper) Unwrap() error { return w.err }

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errMissing, errcode.NotFound},
		{fmt.Errorf("ctx: %w", errMissing), errcode.NotFound},
		{&wrapper{errMissing}, errcode.NotFound},
		{errors.New("plain"), ""},
		{nil, ""},
	} {
		if got := errcode.Of(tc.err); got != tc.want {
			t.Errorf("Of(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if !errors.Is(fmt.Errorf("x: %w", errMissing), errMissing) {
		t.Error("a sentinel is not comparable with errors.Is")
	}
	if errcode.CodeOf(errMissing) != errcode.NotFound || errMissing.Error() != "pkg: missing" {
		t.Error("CodeOf or Error")
	}
}
