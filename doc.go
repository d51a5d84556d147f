// Package batos is BAT OS for Go: a living, persistent, self-extending
// object system that runs on a local Llama model.
//
// The module is a set of packages, each a layer:
//
//   - object: prototype objects, slots, delegation, clone, transactions and
//     blobs in one Pebble database (the living image).
//   - guardian: static audit of generated Starlark (the Persistence Covenant).
//   - vm: message dispatch, doesNotUnderstand, the cognitive cycle, personas
//     and the autotelic heartbeat; its parts vm/plan, vm/methodspec,
//     vm/prompt and vm/tiers (see vm's doc), and vm/sandbox, which runs
//     generated methods.
//   - gbnf: GBNF grammars as Go values (render, parse, sample, measure).
//   - errcode: the classes sentinel errors carry (the bridge's reply codes).
//   - catalog: semantic chunking, text and vector index, search.
//   - llama: the only cgo binding to llama.cpp; llama/gguf writes test models.
//   - bridge: the ZeroMQ ROUTER server and client; bridge/wire is the msgpack
//     wire format.
//   - examples/batosd and examples/batosctl: the daemon and its client.
//
// The core packages (errcode, object, guardian, gbnf, vm and its parts, catalog,
// bridge/wire) import neither llama, bridge nor zmq4 and build with
// CGO_ENABLED=0 (TestDeps); which of them may import which is TestLayers'.
package batos
