// Package batos is BAT OS for Go: a living, persistent, self-extending
// object system that runs on a local Llama model.
//
// The module is a set of packages, each a layer:
//
//   - object: prototype objects, slots, delegation, clone, transactions and
//     blobs in one Pebble database (the living image).
//   - guardian: static audit of generated Starlark (the Persistence Covenant).
//   - vm: message dispatch, doesNotUnderstand, the cognitive cycle, personas
//     and the autotelic heartbeat; vm/sandbox runs generated methods.
//   - catalog: semantic chunking, text and vector index, search.
//   - llama: the only cgo binding to llama.cpp; llama/gguf writes test models.
//   - bridge: the ZeroMQ ROUTER server and client; bridge/wire is the msgpack
//     wire format.
//   - examples/batosd and examples/batosctl: the daemon and its client.
//
// The core packages (object, guardian, vm, catalog, bridge/wire) import
// neither llama, bridge nor zmq4 and build with CGO_ENABLED=0; TestDeps
// enforces it.
package batos
