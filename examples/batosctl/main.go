// Command batosctl is the command-line client of batosd, the BAT OS daemon.
// It speaks the Synaptic Bridge protocol (ZeroMQ, msgpack) through package
// bridge.
//
// Usage:
//
//	batosctl [global flags] COMMAND [arguments and flags]
//
//	send TARGET SELECTOR [--args JSON-array] [--kwargs JSON-object] [--wait]
//	        send a message; a message the object does not understand starts
//	        a cognitive cycle, and --wait waits for its end (wait_cycle,
//	        asked again each minute the cycle runs on) and sends the
//	        message again once the cycle is COMPLETE
//	inspect TARGET                 slots, parents and methods (source,
//	                               author persona, audit findings)
//	cycles [--limit N]             recent cognitive cycles, newest first
//	cycle ID                       one cycle's trace: states, operator trace,
//	                               model steps, findings, error
//	ingest [--id DOC] [--meta k=v]... FILE|-
//	                               add a document to the catalog
//	search QUERY [--mode auto|bm25|vector|hybrid] [--limit N] [--filter k=v]...
//	                               search the catalog
//	status                         model, device, adapters, queue, counters
//	set TARGET SLOT JSON-VALUE|@REF
//	                               set a slot, e.g. set genesis_obj greeting '"hi"';
//	                               @REF (an OID or a name) sets a reference,
//	                               e.g. set genesis_obj 'extra*' @traits_obj
//
// TARGET is an object's name (genesis_obj) or its number (all digits). In
// JSON values a reference to an object is {"oid": N}, as inspect and
// --json show one.
// Flags may come before or after the arguments; "--" ends the flags (so
// that a negative number or a word starting with "-" can be an argument).
//
// Global flags (also accepted after the command):
//
//	--endpoint URL     the daemon's endpoint (default $BATOS_ENDPOINT or
//	                   tcp://127.0.0.1:5555)
//	--timeout D        how long to wait for each reply (default 30s)
//	--json             print the raw reply result as JSON, for scripts
//	--server-key FILE  the server's .pub file: connect with CurveZMQ
//	--client-key FILE  this client's .key file (with --server-key)
//
// Exit codes: 0 success; 1 the server answered an error (its code and
// message go to stderr); 2 usage error; 3 the server could not be reached
// (no reply within --timeout); 4 the cycle followed by send --wait ended
// FAILED or ABORTED; 130 interrupted.
//
// Example session against a fresh daemon:
//
//	batosctl send genesis_obj display_yourself --wait
//	batosctl inspect genesis_obj
//	batosctl cycles
//	batosctl --json status | jq .extra.adapters
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
