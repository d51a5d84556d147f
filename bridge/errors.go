package bridge

import "errors"

var (
	// ErrClosed is returned by Serve, Call and Dial-ed clients after Close.
	ErrClosed = errors.New("bridge: closed")
	// ErrServing is returned by Serve when the server is already serving
	// or has served before.
	ErrServing = errors.New("bridge: server already served")
	// ErrNoCurve is returned when CURVE security is requested but libzmq
	// was built without it.
	ErrNoCurve = errors.New("bridge: libzmq lacks CURVE support")
	// ErrBadKey is returned for a CURVE key that is not 40 characters of
	// Z85 encoding 32 bytes.
	ErrBadKey = errors.New("bridge: bad CURVE key")
	// ErrBadReply is returned by Call when the server's answer cannot be
	// decoded.
	ErrBadReply = errors.New("bridge: bad reply")
	// ErrKeyFile is returned by ReadKeyFile for a file that does not hold
	// a key in the format WriteKeyPair writes.
	ErrKeyFile = errors.New("bridge: bad key file")
)
