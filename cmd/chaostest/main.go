// Command chaostest runs Chaos Toolkit experiments with the chaostest engine: a drop-in for
// `chaos run` and `chaos validate`, plus reports, journal diffs and the provider catalogue.
//
//	chaostest run [--journal-path P] [--var k[:type]=v]... [--var-file F]...
//	              [--rollback-strategy S] [--hypothesis-strategy S] [--hypothesis-frequency SECONDS]
//	              [--fail-fast] [--dry probes|actions|activities|pause] [--no-validation]
//	              [--no-verify-tls] FILE
//	chaostest validate [--var ...] [--var-file ...] FILE
//	chaostest report JOURNAL... [-o FILE] [--format html|markdown]
//	chaostest diff A B
//	chaostest providers [--json]
//
// Exit codes follow `chaos run`: 1 when the run's status is not completed or it deviated (and for
// load and validation errors), 2 for usage errors, 0 otherwise.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/journal"
	_ "github.com/chaostest/chaostest/providers/http"
	_ "github.com/chaostest/chaostest/providers/k8s"
	_ "github.com/chaostest/chaostest/providers/process"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: chaostest <command> [options]

commands:
  run        run an experiment file (like chaos run) and write its journal
  validate   check an experiment file (like chaos validate)
  report     render journals as a self-contained HTML report or a Markdown summary
  diff       compare two journals; exit 1 when they differ in behaviour
  providers  list the Chaos Toolkit provider names this binary implements
  version    print the version
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runMain(args[1:], stdout, stderr)
	case "validate":
		return validateMain(args[1:], stdout, stderr)
	case "report":
		return reportMain(args[1:], stdout, stderr)
	case "diff":
		return diffMain(args[1:], stdout, stderr)
	case "providers", "discover":
		return providersMain(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, chaostest.Version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "chaostest: unknown command %q\n%s", args[0], usage)
	return 2
}

// multi collects a repeated flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

// choice is a flag that accepts one of a fixed set of values, as click.Choice does.
type choice struct {
	value   string
	allowed []string
}

func (c *choice) String() string { return c.value }
func (c *choice) Set(s string) error {
	for _, a := range c.allowed {
		if s == a {
			c.value = s
			return nil
		}
	}
	return fmt.Errorf("invalid choice %q (choose from %s)", s, strings.Join(c.allowed, ", "))
}

// parseInterleaved parses flags that may come before or after the positional arguments, as click
// allows, and returns the positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

type runFlags struct {
	journalPath  string
	vars         multi
	varFiles     multi
	rollback     choice
	hypothesis   choice
	frequency    float64
	failFast     bool
	dry          choice
	noValidation bool
	noVerifyTLS  bool
}

func newRunFlags(name string, stderr io.Writer) (*flag.FlagSet, *runFlags) {
	f := &runFlags{
		rollback:   choice{allowed: []string{"default", "always", "never", "deviated"}},
		hypothesis: choice{allowed: []string{"default", "before-method-only", "after-method-only", "during-method-only", "continuously", "continously"}},
		dry:        choice{allowed: []string{"probes", "actions", "activities", "pause"}},
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&f.vars, "var", "override a configuration key: key[:type]=value (repeatable)")
	fs.Var(&f.varFiles, "var-file", "JSON/YAML file of configuration and secrets, or a .env file (repeatable)")
	fs.BoolVar(&f.noVerifyTLS, "no-verify-tls", false, "do not verify TLS when fetching the experiment over https")
	if name == "run" {
		fs.StringVar(&f.journalPath, "journal-path", "./journal.json", "where to write the journal")
		fs.Var(&f.rollback, "rollback-strategy", "when to play rollbacks: default, always, never, deviated")
		fs.Var(&f.hypothesis, "hypothesis-strategy", "when to check the steady state: default, before-method-only, after-method-only, during-method-only, continuously")
		fs.Float64Var(&f.frequency, "hypothesis-frequency", 1.0, "seconds between steady-state checks while the method runs")
		fs.BoolVar(&f.failFast, "fail-fast", false, "stop at the first steady-state miss while the method runs")
		fs.Var(&f.dry, "dry", "do not run: probes, actions, activities or pause")
		fs.BoolVar(&f.noValidation, "no-validation", false, "skip the validation of the experiment")
	}
	return fs, f
}

func (f *runFlags) loadVars() (*chaostest.Vars, error) {
	vars := &chaostest.Vars{}
	for _, vf := range f.varFiles {
		if err := vars.LoadFile(vf); err != nil {
			return nil, err
		}
	}
	for _, v := range f.vars {
		if err := vars.Set(v); err != nil {
			return nil, err
		}
	}
	return vars, nil
}

func load(source string, insecure bool) (*chaostest.Experiment, error) {
	if insecure {
		return chaostest.LoadInsecure(source)
	}
	return chaostest.Load(source)
}

func runMain(args []string, stdout, stderr io.Writer) int {
	fs, f := newRunFlags("run", stderr)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: chaostest run [options] FILE (exactly one experiment file or URL)")
		return 2
	}
	if f.frequency <= 0 {
		fmt.Fprintln(stderr, "chaostest run: --hypothesis-frequency must be a positive number of seconds")
		return 2
	}
	vars, err := f.loadVars()
	if err != nil {
		fmt.Fprintf(stderr, "chaostest run: %v\n", err)
		return 2
	}
	logf := func(level chaostest.Level, msg string) {
		fmt.Fprintln(stdout, chaostest.FormatLine(time.Now(), level, msg))
	}
	exp, err := load(pos[0], f.noVerifyTLS)
	if err != nil {
		logf(chaostest.LevelError, err.Error())
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	j, err := chaostest.Run(ctx, exp, chaostest.Settings{
		Vars:                vars,
		HypothesisStrategy:  f.hypothesis.value,
		HypothesisFrequency: time.Duration(f.frequency * float64(time.Second)),
		FailFast:            f.failFast,
		RollbackStrategy:    f.rollback.value,
		Dry:                 f.dry.value,
		NoValidation:        f.noValidation,
		Log:                 logf,
	})
	if err != nil {
		var ve *chaostest.ValidationError
		if errors.As(err, &ve) {
			logf(chaostest.LevelError, ve.Error())
		} else {
			logf(chaostest.LevelError, err.Error())
		}
		return 1
	}
	if err := journal.Write(f.journalPath, j); err != nil {
		logf(chaostest.LevelError, "cannot write the journal: "+err.Error())
		return 1
	}
	if j.Status != journal.StatusCompleted || j.Deviated {
		return 1
	}
	return 0
}

func validateMain(args []string, stdout, stderr io.Writer) int {
	fs, f := newRunFlags("validate", stderr)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: chaostest validate [options] FILE")
		return 2
	}
	vars, err := f.loadVars()
	if err != nil {
		fmt.Fprintf(stderr, "chaostest validate: %v\n", err)
		return 2
	}
	logf := func(level chaostest.Level, msg string) {
		fmt.Fprintln(stdout, chaostest.FormatLine(time.Now(), level, msg))
	}
	exp, err := load(pos[0], f.noVerifyTLS)
	if err != nil {
		logf(chaostest.LevelError, err.Error())
		return 1
	}
	logf(chaostest.LevelInfo, "Validating the experiment's syntax")
	// Chaos Toolkit validates without --var values; a .env var file has already set the
	// environment, which is what makes env configuration valid there too.
	_ = vars
	if err := exp.Validate(nil); err != nil {
		logf(chaostest.LevelError, err.Error())
		return 1
	}
	logf(chaostest.LevelInfo, "experiment syntax and semantic look valid")
	return 0
}
