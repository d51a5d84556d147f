package wire

import (
	"fmt"

	"github.com/tinylib/msgp/msgp"
)

// requestKeys are the keys Request defines; DecodeRequestStrict rejects
// any other. TestRequestKeys keeps this list in step with messages.go.
var requestKeys = map[string]bool{
	"command": true, "target_oid": true, "message_name": true, "args": true,
	"kwargs": true, "mission_brief": true, "slot": true, "value": true,
	"limit": true, "cycle_id": true, "doc_id": true, "text": true,
	"metadata": true, "query": true, "mode": true, "filters": true,
	"source": true, "version": true, "root": true, "targets": true, "path": true, "dry_run": true,
	"timeout_ms": true,
}

// DecodeRequest decodes a payload that must hold exactly one msgpack map
// and validates it (see Request.Validate). Unknown keys are skipped, so
// clients written against a later version keep working; use
// DecodeRequestStrict to reject them. The error says what is wrong; pass
// it to CodeOf for the reply code.
func DecodeRequest(b []byte) (*Request, error) {
	return decodeRequest(b, false)
}

// DecodeRequestStrict is DecodeRequest that also rejects keys no command
// defines, with a *FieldError wrapping ErrUnknownField.
func DecodeRequestStrict(b []byte) (*Request, error) {
	return decodeRequest(b, true)
}

func decodeRequest(b []byte, strict bool) (*Request, error) {
	if err := checkMap(b); err != nil {
		return nil, err
	}
	if strict {
		if err := checkKeys(b); err != nil {
			return nil, err
		}
	}
	req := new(Request)
	o, err := req.UnmarshalMsg(b)
	if err != nil {
		return nil, fmt.Errorf("wire: decoding request: %w", err)
	}
	if len(o) != 0 {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTrailingBytes, len(o))
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return req, nil
}

func checkMap(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty payload", ErrNotMap)
	}
	if t := msgp.NextType(b); t != msgp.MapType {
		return fmt.Errorf("%w: got %v", ErrNotMap, t)
	}
	return nil
}

// checkKeys walks the top-level keys of a map, skipping values.
func checkKeys(b []byte) error {
	sz, o, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return fmt.Errorf("wire: decoding request: %w", err)
	}
	for range sz {
		var k []byte
		if k, o, err = msgp.ReadMapKeyZC(o); err != nil {
			return fmt.Errorf("wire: decoding request: %w", err)
		}
		if !requestKeys[string(k)] {
			return &FieldError{Field: string(k), Err: ErrUnknownField}
		}
		if o, err = msgp.Skip(o); err != nil {
			return fmt.Errorf("wire: decoding request: %w", err)
		}
	}
	return nil
}

// Validate checks that r names a known command and carries the fields it
// requires:
//
//	dispatch_message          target_oid, message_name
//	initiate_cognitive_cycle  target_oid (mission_brief may be absent: empty)
//	inspect                   target_oid
//	set_slot                  target_oid, slot (value may be nil)
//	show_cycle, wait_cycle    cycle_id (wait_cycle: timeout_ms may be absent)
//	ingest                    text
//	search                    query
//	grant_capability          target_oid, slot, capability
//	list_cycles, status       nothing
//
// Limit and TimeoutMS must not be negative. Errors are ErrUnknownCommand
// or a *FieldError.
func (r *Request) Validate() error {
	need := func(field string, ok bool) error {
		if !ok {
			return &FieldError{Field: field, Err: ErrMissingField}
		}
		return nil
	}
	if r.Limit < 0 {
		return &FieldError{Field: "limit", Err: ErrInvalidField}
	}
	if r.TimeoutMS < 0 {
		return &FieldError{Field: "timeout_ms", Err: ErrInvalidField}
	}
	var errs []error
	switch r.Command {
	case CmdDispatchMessage:
		errs = append(errs, need("target_oid", !r.Target.IsZero()), need("message_name", r.MessageName != ""))
	case CmdInitiateCognitiveCycle:
		errs = append(errs, need("target_oid", !r.Target.IsZero()))
	case CmdInspect:
		errs = append(errs, need("target_oid", !r.Target.IsZero()))
	case CmdSetSlot:
		errs = append(errs, need("target_oid", !r.Target.IsZero()), need("slot", r.Slot != ""))
	case CmdShowCycle, CmdWaitCycle:
		errs = append(errs, need("cycle_id", r.CycleID != ""))
	case CmdIngest:
		errs = append(errs, need("text", r.Text != ""))
	case CmdSearch:
		errs = append(errs, need("query", r.Query != ""))
	case CmdDefineMethod:
		errs = append(errs, need("target_oid", !r.Target.IsZero()), need("slot", r.Slot != ""), need("source", r.Source != ""))
	case CmdMethodHistory, CmdRemoveSlot:
		errs = append(errs, need("target_oid", !r.Target.IsZero()), need("slot", r.Slot != ""))
	case CmdRevertMethod:
		errs = append(errs, need("target_oid", !r.Target.IsZero()), need("slot", r.Slot != ""), need("version", r.Version > 0))
	case CmdClone:
		errs = append(errs, need("target_oid", !r.Target.IsZero()))
	case CmdImport:
		errs = append(errs, need("text", r.Text != ""))
	case CmdBackup:
		errs = append(errs, need("path", r.Path != ""))
	case CmdGrantCapability:
		errs = append(errs, need("target_oid", !r.Target.IsZero()), need("slot", r.Slot != ""), need("capability", r.Capability != ""))
	case CmdListCycles, CmdStatus, CmdExport, CmdCollectBlobs:
	case "":
		return &FieldError{Field: "command", Err: ErrMissingField}
	default:
		return fmt.Errorf("%w: %q", ErrUnknownCommand, r.Command)
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Encode appends the msgpack encoding of r to b.
func (r *Request) Encode(b []byte) ([]byte, error) { return r.MarshalMsg(b) }

// DecodeReply decodes a payload that must hold exactly one msgpack map with
// status "ok" or "error".
func DecodeReply(b []byte) (*Reply, error) {
	if err := checkMap(b); err != nil {
		return nil, err
	}
	rep := new(Reply)
	o, err := rep.UnmarshalMsg(b)
	if err != nil {
		return nil, fmt.Errorf("wire: decoding reply: %w", err)
	}
	if len(o) != 0 {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTrailingBytes, len(o))
	}
	if rep.Status != StatusOK && rep.Status != StatusError {
		return nil, fmt.Errorf("%w: %q", ErrBadStatus, rep.Status)
	}
	return rep, nil
}

// OK returns a successful Reply carrying result (see Value for the types
// result may have; they are checked when the reply is encoded).
func OK(result any) *Reply { return &Reply{Status: StatusOK, Result: Value{V: result}} }

// Errorf returns an error Reply with code and a formatted message.
func Errorf(code, format string, args ...any) *Reply {
	return &Reply{Status: StatusError, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Encode appends the msgpack encoding of r to b.
func (r *Reply) Encode(b []byte) ([]byte, error) { return r.MarshalMsg(b) }

// Err returns nil for an ok reply and a *ReplyError for an error reply.
func (r *Reply) Err() error {
	if r.Status == StatusOK {
		return nil
	}
	return &ReplyError{Code: r.Code, Message: r.Message}
}
