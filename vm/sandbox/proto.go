package sandbox

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/batos/batos/object"
)

// The worker protocol: length-prefixed frames on the worker's stdin and
// stdout. Each frame is a 4-byte big-endian length, a type byte and a
// payload. The parent sends msgCall and answers the worker's msgLookup and
// msgPrim requests; the worker ends each call with msgResult. Values are
// encoded with object.AppendValue.
const (
	msgCall byte = iota + 1
	msgLookup
	msgLookupReply
	msgPrim
	msgPrimReply
	msgPrint
	msgResult
)

// Result and reply status codes.
const (
	stOK byte = iota
	stSteps
	stDepth
	stCovenant
	stOutput
	stFailed
	stRejected
	stNotUnderstood
	stInternal
)

var errFrameTooLarge = errors.New("sandbox: protocol frame too large")

func writeFrame(w *bufio.Writer, typ byte, payload []byte) error {
	var hdr [5]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(payload)+1))
	hdr[4] = typ
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := w.Write(payload); err != nil {
		return err
	}
	return w.Flush()
}

func readFrame(r *bufio.Reader, max int) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:4]))
	if n < 1 || n-1 > max {
		return 0, nil, errFrameTooLarge
	}
	buf := make([]byte, n-1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return hdr[4], buf, nil
}

// enc appends fields to a payload.
type enc struct {
	b   []byte
	err error
}

func (e *enc) u64(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) str(s string) { e.u64(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) byte(c byte)  { e.b = append(e.b, c) }
func (e *enc) raw(b []byte) { e.u64(uint64(len(b))); e.b = append(e.b, b...) }

func (e *enc) value(v object.Value) {
	if e.err != nil {
		return
	}
	b, err := object.AppendValue(nil, v)
	if err != nil {
		e.err = err
		return
	}
	e.u64(uint64(len(b)))
	e.b = append(e.b, b...)
}

func (e *enc) values(vs []object.Value) {
	e.u64(uint64(len(vs)))
	for _, v := range vs {
		e.value(v)
	}
}

func (e *enc) kwargs(kw map[string]object.Value) {
	keys := sortedKeys(kw)
	e.u64(uint64(len(keys)))
	for _, k := range keys {
		e.str(k)
		e.value(kw[k])
	}
}

// grant encodes where a capability reference came from.
func (e *enc) grant(g grant) {
	e.u64(uint64(g.holder))
	e.str(g.slot)
	if g.arg {
		e.byte(1)
	} else {
		e.byte(0)
	}
}

// dec reads fields from a payload; the first error sticks.
type dec struct {
	b   []byte
	err error
}

var errShort = errors.New("sandbox: truncated protocol message")

func (d *dec) u64() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) bytes() []byte {
	n := d.u64()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *dec) str() string { return string(d.bytes()) }

func (d *dec) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errShort
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *dec) value() object.Value {
	b := d.bytes()
	if d.err != nil {
		return nil
	}
	v, err := object.DecodeValue(slices.Clone(b))
	if err != nil {
		d.err = fmt.Errorf("sandbox: decoding value: %w", err)
	}
	return v
}

func (d *dec) values() []object.Value {
	n := d.u64()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	out := make([]object.Value, 0, n)
	for range n {
		out = append(out, d.value())
	}
	return out
}

func (d *dec) kwargs() map[string]object.Value {
	n := d.u64()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make(map[string]object.Value, n)
	for range n {
		k := d.str()
		out[k] = d.value()
	}
	return out
}

func (d *dec) grant() grant {
	return grant{holder: object.OID(d.u64()), slot: d.str(), arg: d.byte() == 1}
}

// primMsg is a decoded msgPrim request: a primitive (or capability) call
// the worker asks the parent to run.
type primMsg struct {
	recv   object.OID
	name   string
	args   []object.Value
	kwargs map[string]object.Value
	via    grant
}

// decodePrim decodes a msgPrim payload.
func decodePrim(payload []byte) (primMsg, error) {
	d := &dec{b: payload}
	p := primMsg{recv: object.OID(d.u64()), name: d.str(), args: d.values(), kwargs: d.kwargs(), via: d.grant()}
	return p, d.err
}

// statusOf maps a session error to a status code.
func statusOf(err error) byte {
	switch {
	case err == nil:
		return stOK
	case errors.Is(err, ErrSteps):
		return stSteps
	case errors.Is(err, ErrDepth):
		return stDepth
	case errors.Is(err, ErrCovenant):
		return stCovenant
	case errors.Is(err, ErrOutput):
		return stOutput
	case errors.Is(err, ErrRejected):
		return stRejected
	case errors.Is(err, ErrFailed):
		return stFailed
	}
	return stInternal
}

// errorOf rebuilds an error from a status code and message.
func errorOf(st byte, msg, selector string) error {
	switch st {
	case stSteps:
		return &limitError{msg: msg, errs: []error{ErrSteps}}
	case stDepth:
		return &limitError{msg: msg, errs: []error{ErrDepth}}
	case stCovenant:
		return &limitError{msg: msg, errs: []error{ErrCovenant}}
	case stOutput:
		return &limitError{msg: msg, errs: []error{ErrOutput}}
	case stRejected:
		return &limitError{msg: msg, errs: []error{ErrRejected}}
	case stFailed:
		return &MethodError{Selector: selector, Msg: msg}
	}
	return fmt.Errorf("%w: %s", ErrWorker, msg)
}
