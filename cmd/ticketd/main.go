// Command ticketd is an email-first help desk daemon. This file only parses
// the command line and dispatches; the work lives in the packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	// Time zone data in the binary: [server] time_zone must load on minimal
	// images without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes (sysexits.h), which MTAs such as Postfix understand.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 64
	exitDataErr  = 65
	exitNoUser   = 67
	exitSoftware = 70
	exitTempFail = 75
	exitConfig   = 78
)

// defaultConfig is used when neither -config nor TICKETD_CONFIG is given.
const defaultConfig = "/etc/ticketd/config.toml"

// command is one subcommand. run gets the arguments after its name.
type command struct {
	summary string
	run     func(env *cmdEnv, args []string) int
}

// commands is filled by the files of this package, one file a subcommand.
var commands = map[string]command{}

// cmdEnv is what a subcommand may use of the process.
type cmdEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	env := &cmdEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(run(env, os.Args[1:]))
}

func run(env *cmdEnv, args []string) int {
	if len(args) == 0 {
		usage(env.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(env.stdout)
		return exitOK
	case "-version", "--version":
		return printVersion(env)
	case "help":
		if len(args) == 1 {
			usage(env.stdout)
			return exitOK
		}
		// "help CMD [SUB]" is "CMD [SUB] --help".
		args = append(args[1:], "--help")
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "ticketd: unknown command %q\n\n", args[0])
		usage(env.stderr)
		return exitUsage
	}
	return c.run(env, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ticketd COMMAND [-config FILE] [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-13s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nThe config file is -config FILE, else $TICKETD_CONFIG, else %s.\n", defaultConfig)
	fmt.Fprintln(w, "ticketd help COMMAND (or ticketd COMMAND --help) prints its usage and flags.")
}

// usageLines are the synopses of the subcommands, by flag set name.
var usageLines = map[string]string{
	"serve":          "ticketd serve [-config FILE]",
	"check-config":   "ticketd check-config [-config FILE] [--connect]",
	"inject":         "ticketd inject -to ADDR [-from ADDR] [-config FILE] < mail.eml",
	"tickets list":   "ticketd tickets list [--status S] [--limit N] [--json] [-config FILE]",
	"tickets show":   "ticketd tickets show N [--json] [-config FILE]",
	"tickets search": "ticketd tickets search QUERY [--status S] [--limit N] [--json] [-config FILE]\n  QUERY: words, a requester address, or a ticket number",
	"sweep":          "ticketd sweep [--now RFC3339] [--dry-run] [-config FILE]",
	"version":        "ticketd version",
}

// flags is a flag set that also accepts flags after positional arguments
// ("tickets show 12 --json"), which users type.
type flags struct {
	*flag.FlagSet
	config *string
	env    *cmdEnv
}

func newFlags(env *cmdEnv, name string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	f := &flags{FlagSet: fs, env: env}
	f.config = fs.String("config", "", "config file (default $TICKETD_CONFIG, else "+defaultConfig+")")
	fs.Usage = func() {
		w := fs.Output()
		line := usageLines[name]
		if line == "" {
			line = "ticketd " + name
		}
		fmt.Fprintf(w, "usage: %s\n\nflags:\n", line)
		fs.PrintDefaults()
	}
	return f
}

// isHelp reports whether arg asks for help, as the flag package reads it.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--h", "--help":
		return true
	}
	return false
}

// parse returns the positional arguments, or an exit code when parsing
// failed or help was asked for (printed to standard output: it is the
// answer, not an error).
func (f *flags) parse(args []string) ([]string, int, bool) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if isHelp(a) {
			f.SetOutput(f.env.stdout)
			f.Usage()
			return nil, exitOK, false
		}
	}
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		args = f.Args()
		if len(args) == 0 {
			return pos, 0, true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (f *flags) configPath() string {
	if *f.config != "" {
		return *f.config
	}
	if p := f.env.getenv("TICKETD_CONFIG"); p != "" {
		return p
	}
	return defaultConfig
}

// loadConfig loads and validates, printing every problem.
func (f *flags) loadConfig() (*config.Config, bool) {
	cfg, err := config.Load(f.configPath())
	if err != nil {
		fmt.Fprintf(f.env.stderr, "ticketd: %s\n", strings.TrimRight(err.Error(), "\n")+f.missingHint(err))
		return nil, false
	}
	return cfg, true
}

// missingHint says where the config path came from when the file is not there.
func (f *flags) missingHint(err error) string {
	if !errors.Is(err, fs.ErrNotExist) || *f.config != "" {
		return ""
	}
	return " (give -config FILE or set TICKETD_CONFIG; config.example.toml is a starting point)"
}

func init() {
	commands["version"] = command{"print the version (also ticketd --version)", func(env *cmdEnv, args []string) int {
		f := newFlags(env, "version")
		if _, code, ok := f.parse(args); !ok {
			return code
		}
		return printVersion(env)
	}}
	commands["check-config"] = command{"validate the config file and print a summary", runCheckConfig}
}

func printVersion(env *cmdEnv) int {
	fmt.Fprintf(env.stdout, "ticketd %s\n", version)
	return exitOK
}

func runCheckConfig(env *cmdEnv, args []string) int {
	f := newFlags(env, "check-config")
	connect := f.Bool("connect", false, "also connect to the PostgreSQL store, log in to each [[imap]] server and open its folder, and to an XOAUTH2 smarthost")
	if _, code, ok := f.parse(args); !ok {
		return code
	}
	cfg, err := config.Load(f.configPath())
	if err != nil {
		fmt.Fprintf(env.stderr, "%s\n", strings.TrimRight(err.Error(), "\n")+f.missingHint(err))
		return exitConfig
	}
	// The templates as serve loads them: an override it would refuse
	// must fail here too.
	if _, err := daemon.LoadTemplates(cfg); err != nil {
		fmt.Fprintf(env.stderr, "%s: %v\n", f.configPath(), err)
		return exitConfig
	}
	fmt.Fprintf(env.stdout, "%s: ok\n%s", f.configPath(), cfg.Summary())
	if *connect {
		storeOK := checkStore(context.Background(), env.stdout, cfg)
		imapOK := checkIMAP(context.Background(), env.stdout, cfg)
		if !checkOutbound(context.Background(), env.stdout, cfg) || !imapOK || !storeOK {
			return exitFailure
		}
	}
	return exitOK
}
