// Command chaostest runs Chaos Toolkit experiments with the chaostest engine: a drop-in for
// `chaos run` and `chaos validate`, plus reports, journal diffs and the provider catalogue.
//
//	chaostest [--verbose] [--settings F] [--log-format string|json] [--log-file F] ... <command>
//	chaostest run [--journal-path P] [--var k[:type]=v]... [--var-file F]...
//	              [--rollback-strategy S] [--hypothesis-strategy S] [--hypothesis-frequency SECONDS]
//	              [--fail-fast] [--journal-during folded|full] [--dry probes|actions|activities|pause] [--no-validation]
//	              [--no-verify-tls] [--control-file F]... [--max-file-size SIZE] FILE
//	chaostest validate [--var ...] [--var-file ...] [--max-file-size SIZE] FILE
//	chaostest report JOURNAL... [-o FILE] [--format html|markdown]
//	chaostest diff A B
//	chaostest providers [--json]
//
// Exit codes follow `chaos run`: 1 when the run's status is not completed or it deviated (and for
// load and validation errors), 2 for usage errors, 0 otherwise.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/journal"
	_ "github.com/chaostest/chaostest/providers/http"
	_ "github.com/chaostest/chaostest/providers/process"
)

func main() {
	survivePipes()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: chaostest [global options] <command> [options]

global options (as chaos's): --verbose, --settings FILE, --log-format string|json,
  --log-file FILE, --log-file-level debug|info|warning|error, --change-dir DIR,
  --no-log-file, --no-version-check

commands:
  run        run an experiment file (like chaos run) and write its journal; with --in-cluster,
             as a Kubernetes Job (several files: one Job each, --parallel N at once)
  validate   check an experiment file (like chaos validate)
  report     render journals as a self-contained HTML report or a Markdown summary
  diff       compare two journals; exit 1 when they differ in behaviour
  providers  list the Chaos Toolkit provider names this binary implements
  agent      install or uninstall the node agent that serves network faults (NetworkChaos)
  schedule   run an experiment on a cron schedule in the cluster (create, list, trigger, delete)
  journals   list or get the journals that scheduled runs kept in the cluster
  image      push the image that run --in-cluster uses to a registry (or save it to a file)
  version    print the version
`

func run(args []string, stdout, stderr io.Writer) int {
	all := args
	cliArgs.Store(&all)
	g, args, code, ok := parseGlobal(args, stdout, stderr)
	if !ok {
		return code
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if g.changeDir != "" {
		// as chaos does: a WARNING, then the command runs from there
		fmt.Fprintln(stderr, engine.FormatLine(time.Now(), engine.LevelWarning, "Moving to "+g.changeDir))
		if err := os.Chdir(g.changeDir); err != nil {
			fmt.Fprintf(stderr, "chaostest: --change-dir: %v\n", err)
			return 1
		}
	}
	switch args[0] {
	case "run":
		if wantsInCluster(args[1:]) {
			return inClusterMain(g, args[1:], stdout, stderr)
		}
		return runMain(g, args[1:], stdout, stderr)
	case "in-pod": // what the Job of `run --in-cluster` runs
		return inPodMain(g, args[1:], stdout, stderr)
	case "image":
		return imageMain(args[1:], stdout, stderr)
	case "validate":
		return validateMain(g, args[1:], stdout, stderr)
	case "report":
		return reportMain(args[1:], stdout, stderr)
	case "diff":
		return diffMain(args[1:], stdout, stderr)
	case "providers", "discover":
		return providersMain(args[1:], stdout, stderr)
	case "agent":
		return agentMain(args[1:], stdout, stderr)
	case "schedule":
		return scheduleMain(g, args[1:], stdout, stderr)
	case "journals":
		return journalsMain(args[1:], stdout, stderr)
	case "serve": // the helper's: answer the light CLI's calls (see helper.go)
		return serveMain(os.Stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, engine.Version)
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
	maxFileSize  sizeFlag
	controlFiles multi
	journalDur   choice
}

func newRunFlags(name string, stderr io.Writer) (*flag.FlagSet, *runFlags) {
	f := &runFlags{
		rollback:   choice{allowed: []string{"default", "always", "never", "deviated"}},
		hypothesis: choice{allowed: []string{"default", "before-method-only", "after-method-only", "during-method-only", "continuously", "continously"}},
		dry:        choice{allowed: []string{"probes", "actions", "activities", "pause"}},
		journalDur: choice{value: engine.JournalDuringFolded, allowed: []string{engine.JournalDuringFolded, engine.JournalDuringFull}},
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&f.vars, "var", "override a configuration key: key[:type]=value (repeatable)")
	fs.Var(&f.varFiles, "var-file", "JSON/YAML file of configuration and secrets, or a .env file (repeatable)")
	fs.BoolVar(&f.noVerifyTLS, "no-verify-tls", false, "do not verify TLS when fetching the experiment over https")
	fs.Var(&f.maxFileSize, "max-file-size", "largest experiment or var file read, e.g. 32MiB (default 16MiB, or $"+engine.MaxFileSizeEnv+")")
	if name == "run" {
		fs.StringVar(&f.journalPath, "journal-path", "./journal.json", "where to write the journal")
		fs.Var(&f.rollback, "rollback-strategy", "when to play rollbacks: default, always, never, deviated")
		fs.Var(&f.hypothesis, "hypothesis-strategy", "when to check the steady state: default, before-method-only, after-method-only, during-method-only, continuously")
		fs.Float64Var(&f.frequency, "hypothesis-frequency", 1.0, "seconds between steady-state checks while the method runs")
		fs.BoolVar(&f.failFast, "fail-fast", false, "stop at the first steady-state miss while the method runs")
		fs.Var(&f.journalDur, "journal-during", "journal the checks made while the method runs: folded (runs of alike checks as one record) or full (one record per check, as chaos)")
		fs.Var(&f.dry, "dry", "do not run: probes, actions, activities or pause")
		fs.BoolVar(&f.noValidation, "no-validation", false, "skip the validation of the experiment")
		fs.Var(&f.controlFiles, "control-file", "JSON/YAML file of global controls, name: declaration (repeatable)")
	}
	return fs, f
}

func (f *runFlags) loadVars() (*engine.Vars, error) { return f.loadVarsWith("") }

// loadVarsWith loads the --var-file files, then extra (when not ""), then the --var values.
func (f *runFlags) loadVarsWith(extra string) (*engine.Vars, error) {
	vars := &engine.Vars{}
	files := f.varFiles
	if extra != "" {
		files = append(append(multi{}, files...), extra)
	}
	for _, vf := range files {
		if err := vars.LoadFileWith(vf, f.loadOptions()); err != nil {
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

func load(source string, o engine.LoadOptions) (*engine.Experiment, error) {
	return engine.LoadWith(source, o)
}

func runMain(g *globalOpts, args []string, stdout, stderr io.Writer) int {
	fs, f := newRunFlags("run", stderr)
	pos, code, ok := parseCommand(fs, "chaostest run [options] FILE", args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: chaostest run [options] FILE (exactly one experiment file or URL)")
		return 2
	}
	if err := checkFrequency(f.frequency); err != nil {
		fmt.Fprintf(stderr, "chaostest run: %v\n", err)
		return 2
	}
	if err := f.checkPaths(); err != nil {
		fmt.Fprintf(stderr, "chaostest run: %v\n", err)
		return 2
	}
	lg, err := newLogger(stderr, g)
	if err != nil {
		fmt.Fprintf(stderr, "chaostest run: %v\n", err)
		return 1
	}
	defer lg.close()
	logf := lg.log
	settings, err := loadSettings(g, f.loadOptions(), logf)
	if err != nil {
		logf(engine.LevelError, err.Error())
		return 1
	}
	vars, err := f.loadVars()
	if err != nil {
		logf(engine.LevelError, err.Error())
		return 1
	}
	ctls, err := loadControlFiles(f.controlFiles, f.loadOptions(), logf)
	if err != nil {
		logf(engine.LevelError, err.Error())
		return 1
	}
	controls := append(settings.controls, ctls...)
	if err := checkJournalPath(f.journalPath, pos[0], f.varFiles); err != nil {
		logf(engine.LevelError, err.Error())
		return 1
	}
	var exp *engine.Experiment
	if len(controls) > 0 {
		exp, err = engine.LoadControlled(pos[0], f.loadOptions(), engine.Settings{Controls: controls, Log: logf})
	} else {
		exp, err = load(pos[0], f.loadOptions())
	}
	if err != nil {
		logf(engine.LevelError, err.Error())
		return 1
	}
	hyp, rb := settings.strategies(exp, f.hypothesis.value, f.rollback.value)
	logf(engine.LevelDebug, fmt.Sprintf("Runtime strategies: hypothesis - %s / rollbacks - %s", orDefault(hyp), orDefault(rb)))
	ctx, sigs, stop := notifySignals(logf)
	defer stop()
	j, err := engine.Run(ctx, exp, engine.Settings{
		Vars:                vars,
		HypothesisStrategy:  engine.HypothesisStrategy(hyp),
		HypothesisFrequency: time.Duration(f.frequency * float64(time.Second)),
		FailFast:            f.failFast,
		JournalDuring:       f.journalDur.value,
		RollbackStrategy:    engine.RollbackStrategy(rb),
		Dry:                 f.dry.value,
		NoValidation:        f.noValidation,
		Log:                 logf,
		RollbackContext:     sigs.rollbackContext,
		Controls:            controls,
	})
	if err != nil {
		var ve *engine.ValidationError
		if errors.As(err, &ve) {
			logf(engine.LevelError, ve.Error())
		} else {
			logf(engine.LevelError, err.Error())
		}
		return 1
	}
	if err := journal.Write(f.journalPath, j); err != nil {
		logf(engine.LevelError, "cannot write the journal: "+err.Error())
		return 1
	}
	if j.Status != journal.StatusCompleted || j.Deviated {
		return 1
	}
	return 0
}

func validateMain(g *globalOpts, args []string, stdout, stderr io.Writer) int {
	fs, f := newRunFlags("validate", stderr)
	pos, code, ok := parseCommand(fs, "chaostest validate [options] FILE", args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: chaostest validate [options] FILE")
		return 2
	}
	if err := f.checkPaths(); err != nil {
		fmt.Fprintf(stderr, "chaostest validate: %v\n", err)
		return 2
	}
	lg, err := newLogger(stderr, g)
	if err != nil {
		fmt.Fprintf(stderr, "chaostest validate: %v\n", err)
		return 1
	}
	defer lg.close()
	logf := lg.log
	vars, err := f.loadVars()
	if err != nil {
		logf(engine.LevelError, err.Error())
		return 1
	}
	exp, err := load(pos[0], f.loadOptions())
	if err != nil {
		logf(engine.LevelError, err.Error())
		return 1
	}
	logf(engine.LevelInfo, "Validating the experiment's syntax")
	// Chaos Toolkit validates without --var values; a .env var file has already set the
	// environment, which is what makes env configuration valid there too.
	_ = vars
	if err := exp.Validate(nil); err != nil {
		logf(engine.LevelError, err.Error())
		return 1
	}
	for _, w := range exp.ControlWarnings() {
		logf(engine.LevelWarning, w)
	}
	logf(engine.LevelInfo, "Experiment looks valid")
	logf(engine.LevelInfo, "experiment syntax and semantic look valid")
	return 0
}
