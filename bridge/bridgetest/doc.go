// Package bridgetest holds test helpers shared by the tests of bridge,
// bridge/wire and the daemon: the bad-input corpus every decoder and
// server must survive, and the blueprint's canonical request payload.
//
// It is pure Go (no ZeroMQ), safe for concurrent use (every function
// returns fresh slices), and meant for tests only.
package bridgetest
