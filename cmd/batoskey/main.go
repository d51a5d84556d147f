// Command batoskey generates CurveZMQ key pairs for the Synaptic Bridge.
//
// Usage:
//
//	batoskey [-dir DIR] NAME...
//
// For each NAME it writes DIR/NAME.key (public and secret key) and
// DIR/NAME.pub (public key only), both with mode 0600, refusing to
// overwrite existing files, and prints the public key. Give the server its
// .key file and the clients' .pub files; give each client its own .key
// file and the server's .pub file.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/batos/batos/bridge"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "batoskey:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("batoskey", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".", "directory to write the key files to")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: batoskey [-dir DIR] NAME...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no key name given")
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	for _, name := range fs.Args() {
		kp, err := bridge.GenerateKeyPair()
		if err != nil {
			return err
		}
		sec, pub, err := bridge.WriteKeyPair(*dir, name, kp)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: public key %s (wrote %s, %s)\n", name, kp.Public, sec, pub)
	}
	return nil
}
