// Package tiers keeps LoRA adapters in three memory tiers: cold (blobs in
// the living image), warm (files in a cache directory) and hot (resident
// in the model), moving them on demand with least-recently-used eviction
// and counting every move.
//
// [Tiers.Acquire] makes an adapter hot for one generation and pins it
// until the release it returns is called; a pinned adapter is never
// unloaded (the hot tier goes over capacity briefly instead). Writing a
// cold adapter's file (Options.Materialize, possibly gigabytes) happens
// outside the tiers' lock, so a generation whose adapter is hot never
// waits behind another's materialization; loads and unloads are
// serialized. The package does not read the image: its owner (package vm)
// passes the blob and fills [Status].Cold.
package tiers
