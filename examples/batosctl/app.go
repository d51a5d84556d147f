package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/wire"
)

// Exit codes.
const (
	exitOK          = 0
	exitServer      = 1 // the server answered an error, or an unreadable reply
	exitUsage       = 2
	exitUnreachable = 3
	exitCycleFailed = 4 // send --wait: the cycle ended FAILED or ABORTED
	exitInterrupted = 130
)

// defaultEndpoint is batosd's default endpoint.
const defaultEndpoint = bridge.DefaultEndpoint

const usageText = `usage: batosctl [global flags] COMMAND [arguments and flags]

commands:
  send TARGET SELECTOR [--args JSON] [--kwargs JSON] [--wait]
                                 send a message (--wait: wait for the cycle
                                 it starts, then send it again)
  inspect TARGET                 slots, parents, methods and their audits
  cycles [--limit N]             recent cognitive cycles
  cycle ID                       one cycle's trace
  ingest [--id DOC] [--meta k=v]... FILE|-
                                 add a document to the catalog
  search QUERY [--mode M] [--limit N] [--filter k=v]...
                                 search the catalog
  status                         the daemon's status
  set TARGET SLOT JSON-VALUE|@REF
                                 set a slot (@REF: a reference to the object
                                 REF, an OID or a name)
  define TARGET SELECTOR FILE|-  install a method written by hand (audited)
  history TARGET SELECTOR [--source]
                                 a method's versions
  revert TARGET SELECTOR VERSION reinstall an earlier version (audited again)
  clone TARGET [--name ROOT]     copy an object (optionally as a new root)
  remove TARGET SLOT             remove a slot
  export [TARGET...]             objects as JSON lines (all when none named)
  import FILE|-                  read exported objects into the image
  backup DIR                     a consistent copy of the image, taken live
  gc [--dry-run]                 delete blobs no object refers to
  help [COMMAND]                 this text, or a command's flags

TARGET is an object name or, all digits, an OID. In JSON values, a
reference to an object is {"oid": N}: set obj 'parent*' '[{"oid": 3}]'.

global flags (before or after the command):
  --endpoint URL      daemon endpoint (default $BATOS_ENDPOINT or ` + defaultEndpoint + `)
  --timeout D         wait this long for each reply (default 30s)
  --json              print raw reply results as JSON
  --server-key FILE   server's .pub file (CurveZMQ)
  --client-key FILE   this client's .key file (CurveZMQ)

exit codes: 0 ok, 1 server error, 2 usage error, 3 server unreachable,
4 cycle FAILED/ABORTED (send --wait), 130 interrupted
`

// globals are the flags every command accepts.
type globals struct {
	endpoint  string
	timeout   time.Duration
	json      bool
	serverKey string
	clientKey string
}

var globalNames = map[string]bool{"endpoint": true, "timeout": true, "json": true, "server-key": true, "client-key": true}

// register defines the global flags on fs with their current values as
// defaults, so a command's flag set does not reset what was parsed before
// the command name.
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.endpoint, "endpoint", g.endpoint, "daemon `URL`")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "reply timeout")
	fs.BoolVar(&g.json, "json", g.json, "print raw results as JSON")
	fs.StringVar(&g.serverKey, "server-key", g.serverKey, "server's public key `FILE`")
	fs.StringVar(&g.clientKey, "client-key", g.clientKey, "client's secret key `FILE`")
}

// app is one invocation of batosctl.
type app struct {
	g      globals
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	client *bridge.Client // dialed by call on first use
}

// command is one subcommand.
type command struct {
	name  string
	args  string // the positional arguments, for usage lines
	about string
	// flags defines the command's own flags on fs and returns the function
	// that runs it with the positional arguments.
	flags func(a *app, fs *flag.FlagSet) func(ctx context.Context, pos []string) error
}

func commands() []command {
	return []command{
		{"send", "TARGET SELECTOR", "send a message; --wait follows the cycle it starts", sendCommand},
		{"inspect", "TARGET", "show an object's slots, parents and methods", inspectCommand},
		{"cycles", "", "list recent cognitive cycles", cyclesCommand},
		{"cycle", "ID", "show one cognitive cycle's trace", cycleCommand},
		{"ingest", "FILE|-", "add a document to the catalog", ingestCommand},
		{"search", "QUERY", "search the catalog", searchCommand},
		{"status", "", "show the daemon's status", statusCommand},
		{"set", "TARGET SLOT JSON-VALUE|@REF", "set a slot to a JSON value, or with @REF to a reference to the object REF (an OID or a name)", setCommand},
		{"define", "TARGET SELECTOR FILE|-", "install a method written by hand, audited like ALFRED's", defineMethodCommand},
		{"history", "TARGET SELECTOR", "list a method's versions (* marks the current one)", historyCommand},
		{"revert", "TARGET SELECTOR VERSION", "reinstall an earlier version of a method, audited again", revertCommand},
		{"clone", "TARGET", "copy an object into a new one", cloneCommand},
		{"remove", "TARGET SLOT", "remove a slot", removeSlotCommand},
		{"export", "[TARGET...]", "print objects as JSON lines", exportCommand},
		{"import", "FILE|-", "read exported objects into the image", importCommand},
		{"backup", "DIR", "write a consistent copy of the image to DIR (on the daemon's host)", backupCommand},
		{"gc", "", "delete blobs no object refers to (--dry-run lists them)", gcCommand},
		{"grant", "TARGET SLOT CAPABILITY", "grant a capability the daemon registered to an object, in its slot SLOT", grantCommand},
	}
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// cycleFailedError reports a cycle that send --wait saw end badly.
type cycleFailedError struct {
	id, state, reason string
}

func (e *cycleFailedError) Error() string {
	if e.reason == "" {
		return fmt.Sprintf("cycle %s ended %s", e.id, e.state)
	}
	return fmt.Sprintf("cycle %s ended %s: %s", e.id, e.state, e.reason)
}

// run runs batosctl with args (without the program name) and returns the
// exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	a.g.endpoint = os.Getenv("BATOS_ENDPOINT")
	if a.g.endpoint == "" {
		a.g.endpoint = defaultEndpoint
	}
	a.g.timeout = 30 * time.Second
	defer func() {
		if a.client != nil {
			a.client.Close()
		}
	}()

	top := flag.NewFlagSet("batosctl", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	a.g.register(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usageText)
			return exitOK
		}
		return a.fail(usagef("%v", err))
	}
	rest := top.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	name, rest := rest[0], rest[1:]
	if name == "help" {
		if len(rest) > 0 {
			if c, ok := findCommand(rest[0]); ok {
				fs, _ := a.newFlagSet(c)
				fs.SetOutput(stdout)
				fs.Usage()
				return exitOK
			}
		}
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	c, ok := findCommand(name)
	if !ok {
		return a.fail(usagef("unknown command %q (run 'batosctl help')", name))
	}
	fs, exec := a.newFlagSet(c)
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return exitOK
		}
		return a.fail(usagef("%s: %v (run 'batosctl help %s')", c.name, err, c.name))
	}
	if a.g.timeout <= 0 {
		return a.fail(usagef("--timeout must be positive"))
	}
	if (a.g.serverKey == "") != (a.g.clientKey == "") {
		return a.fail(usagef("--server-key and --client-key go together"))
	}
	return a.fail(exec(ctx, pos))
}

// newFlagSet returns c's flag set, with the global flags, and the function
// that runs c once it is parsed. Its Usage lists c's own flags only.
func (a *app) newFlagSet(c command) (*flag.FlagSet, func(context.Context, []string) error) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: batosctl %s [flags]\n%s\n", strings.TrimSpace(c.name+" "+c.args), c.about)
		fs.VisitAll(func(f *flag.Flag) {
			if globalNames[f.Name] {
				return
			}
			typ, usage := flag.UnquoteUsage(f)
			if typ != "" {
				typ = " " + typ
			}
			fmt.Fprintf(w, "  --%s%s\n    \t%s", f.Name, typ, usage)
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(w)
		})
		fmt.Fprintln(w, "global flags: see 'batosctl help'")
	}
	exec := c.flags(a, fs)
	a.g.register(fs)
	return fs, exec
}

// parseInterspersed parses flags anywhere among the positional arguments,
// as most command-line tools do: "send obj sel --wait" works. "--" ends
// the flags; "-" and negative numbers are positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		s := args[i]
		switch {
		case s == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case isFlag(s):
			flags = append(flags, s)
			if takesValue(fs, s) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, s)
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	return pos, nil
}

func isFlag(s string) bool {
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err != nil
}

// takesValue reports whether the flag s is a defined non-boolean flag
// written without "=value", so that the next argument is its value.
func takesValue(fs *flag.FlagSet, s string) bool {
	name := strings.TrimLeft(s, "-")
	if strings.Contains(name, "=") {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return false
	}
	return true
}

// wantArgs checks the number of positional arguments.
func wantArgs(cmd string, pos []string, names ...string) error {
	if len(pos) != len(names) {
		return usagef("%s wants %d argument(s), %s; got %d (run 'batosctl help %s')",
			cmd, len(names), strings.Join(names, " "), len(pos), cmd)
	}
	return nil
}

// unreachableError is a transport failure: no reply came.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// fail prints err and returns its exit code.
func (a *app) fail(err error) int {
	if err == nil {
		return exitOK
	}
	var (
		ue *usageError
		re *wire.ReplyError
		ce *cycleFailedError
		ne *unreachableError
	)
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "batosctl: %s\n", ue.msg)
		return exitUsage
	case errors.As(err, &re):
		fmt.Fprintf(a.stderr, "batosctl: server error %s: %s\n", re.Code, re.Message)
		return exitServer
	case errors.As(err, &ce):
		fmt.Fprintf(a.stderr, "batosctl: %v\n", ce)
		return exitCycleFailed
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(a.stderr, "batosctl: interrupted")
		return exitInterrupted
	case errors.As(err, &ne):
		if errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintf(a.stderr, "batosctl: could not reach %s: no reply within %v\n", a.g.endpoint, a.g.timeout)
		} else {
			fmt.Fprintf(a.stderr, "batosctl: could not reach %s: %v\n", a.g.endpoint, ne.err)
		}
		return exitUnreachable
	default: // an unreadable reply, or stdout failed
		fmt.Fprintf(a.stderr, "batosctl: %v\n", err)
		return exitServer
	}
}

// dial connects on first use.
func (a *app) dial(ctx context.Context) (*bridge.Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	opts := bridge.ClientOptions{Timeout: a.g.timeout, MaxConns: 1}
	if a.g.serverKey != "" {
		cv, err := bridge.LoadClientCurve(a.g.serverKey, a.g.clientKey)
		if err != nil {
			return nil, usagef("%v", err)
		}
		opts.Curve = cv
	}
	c, err := bridge.Dial(ctx, a.g.endpoint, opts)
	if err != nil {
		if errors.Is(err, bridge.ErrBadKey) || errors.Is(err, bridge.ErrNoCurve) {
			return nil, usagef("%v", err)
		}
		return nil, &unreachableError{err}
	}
	a.client = c
	return c, nil
}

// call sends req and returns the result of an ok reply; an error reply
// becomes a *wire.ReplyError.
func (a *app) call(ctx context.Context, req *wire.Request) (any, error) {
	return a.callWithin(ctx, req, a.g.timeout)
}

// callWithin is call with a reply timeout of d instead of --timeout.
func (a *app) callWithin(ctx context.Context, req *wire.Request, d time.Duration) (any, error) {
	c, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	rep, err := c.Call(ctx, req)
	if errors.Is(err, bridge.ErrBadReply) {
		return nil, err
	}
	if err != nil {
		return nil, &unreachableError{err}
	}
	if err := rep.Err(); err != nil {
		return nil, err
	}
	return rep.Result.V, nil
}

// parseTarget turns TARGET into a Ref: all digits is an OID, anything
// else a name.
func parseTarget(s string) (wire.Ref, error) {
	if s == "" {
		return wire.Ref{}, usagef("empty TARGET")
	}
	if strings.Trim(s, "0123456789") == "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return wire.Ref{}, usagef("TARGET %s: %v", s, err)
		}
		return wire.ByNumber(n), nil
	}
	return wire.Named(s), nil
}
