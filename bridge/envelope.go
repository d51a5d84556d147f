package bridge

// maxFrames bounds the frames of one message the server keeps: the
// identity, up to a few routing frames of intermediate proxies, the empty
// delimiter and the payload. Frames beyond it are read and dropped.
const maxFrames = 8

// splitEnvelope splits the frames a ROUTER received into the routing
// envelope (echoed in front of the reply) and the one payload frame.
//
//	[id, payload]                 DEALER without delimiter → env [id]
//	[id, "", payload]             REQ, or DEALER with delimiter → env [id, ""]
//	[id, hop..., "", payload]     through proxies → env up to the delimiter
//
// ok is false when the message does not have exactly one payload frame
// after the envelope; env is then still the best route for an error reply
// (nil when not even an identity arrived).
func splitEnvelope(frames [][]byte) (env [][]byte, payload []byte, ok bool) {
	if len(frames) == 0 {
		return nil, nil, false
	}
	// The last frame is always payload, never a delimiter, so that a
	// DEALER's empty payload [id, ""] is answered as one.
	for i := 1; i < len(frames)-1; i++ {
		if len(frames[i]) == 0 {
			env = frames[:i+1]
			body := frames[i+1:]
			if len(body) != 1 {
				return env, nil, false
			}
			return env, body[0], true
		}
	}
	env = frames[:1]
	if len(frames) != 2 {
		return env, nil, false
	}
	return env, frames[1], true
}
