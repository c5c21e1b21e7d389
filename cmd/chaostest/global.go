package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/internal/pyyaml"
	"github.com/chaostest/chaostest/jsonvalue"
)

// globalOpts are the options `chaos` takes before its command (chaostoolkit/commands/__init__.py):
// `chaos --verbose --settings s.yaml run exp.json` works unchanged with chaostest.
type globalOpts struct {
	verbose      bool
	changeDir    string
	noLogFile    bool
	logFile      string // "" writes no log file (chaostest's default, see README)
	logFileLevel string
	logFormat    string // "string" or "json"
	settingsPath string
	settingsSet  bool // --settings given: a missing file is reported, not silently skipped
}

// defaultSettingsPath is Chaos Toolkit's ~/.chaostoolkit/settings.yaml.
func defaultSettingsPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".chaostoolkit", "settings.yaml")
}

// globalFlags lists the global options: whether each takes a value, and its allowed values.
var globalFlags = map[string]struct {
	value   bool
	allowed []string
}{
	"--verbose":          {},
	"--no-version-check": {},
	"--no-log-file":      {},
	"--change-dir":       {value: true},
	"--log-file":         {value: true},
	"--log-file-level":   {value: true, allowed: []string{"debug", "info", "warning", "error"}},
	"--log-format":       {value: true, allowed: []string{"string", "json"}},
	"--settings":         {value: true},
}

// parseGlobal consumes the global options in front of the command, as click's group does
// (`--opt value` and `--opt=value`). It returns the remaining arguments; ok is false when the
// process should exit with code (a usage error, or --version).
func parseGlobal(args []string, stdout, stderr io.Writer) (g *globalOpts, rest []string, code int, ok bool) {
	g = &globalOpts{logFileLevel: "debug", logFormat: "string", settingsPath: defaultSettingsPath()}
	for len(args) > 0 && strings.HasPrefix(args[0], "--") && len(args[0]) > 2 {
		name, value, hasValue := strings.Cut(args[0], "=")
		if name == "--version" || name == "--help" {
			return g, args, 0, true // the command switch handles both
		}
		spec, known := globalFlags[name]
		if !known {
			fmt.Fprintf(stderr, "chaostest: no such option: %s\n%s", name, usage)
			return nil, nil, 2, false
		}
		args = args[1:]
		if spec.value && !hasValue {
			if len(args) == 0 {
				fmt.Fprintf(stderr, "chaostest: option %s requires an argument\n", name)
				return nil, nil, 2, false
			}
			value, args = args[0], args[1:]
		} else if !spec.value && hasValue {
			fmt.Fprintf(stderr, "chaostest: option %s does not take a value\n", name)
			return nil, nil, 2, false
		}
		if spec.allowed != nil && !contains(spec.allowed, value) {
			fmt.Fprintf(stderr, "chaostest: invalid value for %s: %q is not one of %s\n", name, value, strings.Join(spec.allowed, ", "))
			return nil, nil, 2, false
		}
		switch name {
		case "--verbose":
			g.verbose = true
		case "--no-version-check": // chaostest never calls home
		case "--no-log-file":
			g.noLogFile = true
		case "--change-dir":
			g.changeDir = value
		case "--log-file":
			g.logFile = value
		case "--log-file-level":
			g.logFileLevel = value
		case "--log-format":
			g.logFormat = value
		case "--settings":
			g.settingsPath, g.settingsSet = value, true
		}
	}
	if g.noLogFile {
		g.logFile = ""
	}
	return g, args, 0, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var levelRank = map[engine.Level]int{
	engine.LevelDebug: 10, engine.LevelInfo: 20, engine.LevelWarning: 30,
	engine.LevelError: 40, engine.LevelCritical: 50,
}

// logger writes the run's log lines: to the console (stderr) at INFO, or DEBUG with --verbose,
// as text or as JSON records (--log-format json), and to --log-file as text at
// --log-file-level. It is safe for concurrent use and writes whole lines.
type logger struct {
	mu      sync.Mutex
	console io.Writer
	minCons int
	json    bool
	context string
	file    *os.File
	minFile int
}

// newLogger builds the logger for g (g may be nil: INFO text on w, no file).
func newLogger(w io.Writer, g *globalOpts) (*logger, error) {
	l := &logger{console: w, minCons: levelRank[engine.LevelInfo], minFile: levelRank[engine.LevelDebug]}
	if g == nil {
		return l, nil
	}
	if g.verbose {
		l.minCons = levelRank[engine.LevelDebug]
	}
	if g.logFormat == "json" {
		l.json = true
		l.context = newContextID()
	}
	if g.logFile != "" {
		f, err := os.OpenFile(g.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("cannot open the log file: %w", err)
		}
		l.file = f
		if g.logFileLevel == "warning" {
			l.minFile = levelRank[engine.LevelWarning]
		} else {
			l.minFile = levelRank[engine.Level(strings.ToUpper(g.logFileLevel))]
		}
	}
	return l, nil
}

// log is the engine.Logger of the run.
func (l *logger) log(level engine.Level, msg string) {
	now := time.Now()
	rank := levelRank[level]
	l.mu.Lock()
	defer l.mu.Unlock()
	if rank >= l.minCons {
		if l.json {
			fmt.Fprintln(l.console, jsonRecord(now, level, msg, l.context))
		} else {
			fmt.Fprintln(l.console, engine.FormatLine(now, level, msg))
		}
	}
	if l.file != nil && rank >= l.minFile {
		fmt.Fprintln(l.file, engine.FormatLine(now, level, msg))
	}
}

// close flushes and closes the log file.
func (l *logger) close() {
	if l.file != nil {
		_ = l.file.Close()
	}
}

// jsonRecord is one console record as python-json-logger writes chaoslib's (`--log-format
// json`): context_id, process, asctime, levelname, module, lineno, message and timestamp.
func jsonRecord(t time.Time, level engine.Level, msg, context string) string {
	type record struct {
		ContextID string `json:"context_id"`
		Process   int    `json:"process"`
		Asctime   string `json:"asctime"`
		Levelname string `json:"levelname"`
		Module    string `json:"module"`
		Lineno    int    `json:"lineno"`
		Message   string `json:"message"`
		Timestamp string `json:"timestamp"`
	}
	b, _ := json.Marshal(record{
		ContextID: context,
		Process:   os.Getpid(),
		Asctime:   t.Format("2006-01-02 15:04:05") + "," + fmt.Sprintf("%03d", t.Nanosecond()/1e6),
		Levelname: string(level),
		Module:    "chaostest",
		Message:   msg,
		Timestamp: t.UTC().Format("2006-01-02T15:04:05.000000+00:00"),
	})
	return string(b)
}

// newContextID is a random UUID (version 4) naming one command's log records.
func newContextID() string {
	var b [16]byte
	f, err := os.Open("/dev/urandom")
	if err == nil {
		_, _ = io.ReadFull(f, b[:])
		_ = f.Close()
	} else {
		n := time.Now().UnixNano()
		for i := range b {
			b[i] = byte(n >> (8 * (i % 8)))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ctkSettings is what chaostest uses of Chaos Toolkit's settings file: the runtime strategies
// and the global controls.
type ctkSettings struct {
	hypothesisStrategy string
	rollbackStrategy   string
	controls           []engine.ControlSpec
}

// loadSettings reads the settings file as chaoslib's load_settings does: a missing file means
// no settings (logged at DEBUG), an unparsable one is logged as an ERROR and ignored.
func loadSettings(g *globalOpts, o engine.LoadOptions, log func(engine.Level, string)) (*ctkSettings, error) {
	s := &ctkSettings{}
	if g == nil || g.settingsPath == "" {
		return s, nil
	}
	log(engine.LevelDebug, fmt.Sprintf("Using settings file '%s'", g.settingsPath))
	if _, err := os.Stat(g.settingsPath); err != nil {
		log(engine.LevelDebug, fmt.Sprintf("The Chaos Toolkit settings file could not be found at '%s'.", g.settingsPath))
		return s, nil
	}
	obj, err := decodeFile(g.settingsPath, o, true)
	if err != nil {
		log(engine.LevelError, "Failed parsing YAML settings: "+err.Error())
		return s, nil
	}
	if obj == nil {
		return s, nil
	}
	if rt, ok := obj.Value("runtime").(*jsonvalue.Object); ok {
		s.hypothesisStrategy = nestedString(rt, "hypothesis", "strategy")
		s.rollbackStrategy = nestedString(rt, "rollbacks", "strategy")
	}
	if ctls, ok := obj.Value("controls").(*jsonvalue.Object); ok {
		specs, err := controlSpecs(ctls, "settings")
		if err != nil {
			return nil, err
		}
		s.controls = append(s.controls, specs...)
	}
	return s, nil
}

// loadControlFiles reads `--control-file` files as chaoslib's load_global_controls does: a
// mapping of control name to declaration, in JSON (.json) or YAML (.yaml, .yml); an empty file
// is skipped and an unparsable one logged as an ERROR and skipped.
func loadControlFiles(paths []string, o engine.LoadOptions, log func(engine.Level, string)) ([]engine.ControlSpec, error) {
	var out []engine.ControlSpec
	for _, p := range paths {
		ext := strings.ToLower(filepath.Ext(p))
		if ext != ".json" && ext != ".yaml" && ext != ".yml" {
			return nil, fmt.Errorf("control file %s: the file name must end in .json, .yaml or .yml", p)
		}
		obj, err := decodeFile(p, o, ext != ".json")
		if err != nil {
			log(engine.LevelError, fmt.Sprintf("Failed to parse control file '%s': %v", p, err))
			continue
		}
		if obj == nil {
			continue
		}
		specs, err := controlSpecs(obj, "control file "+p)
		if err != nil {
			return nil, err
		}
		for _, s := range specs {
			log(engine.LevelDebug, fmt.Sprintf("Loading global control '%s' from %s", s.Name, p))
		}
		out = append(out, specs...)
	}
	return out, nil
}

// decodeFile reads a JSON or YAML mapping within the load limits; an empty file gives nil.
func decodeFile(path string, o engine.LoadOptions, yaml bool) (*jsonvalue.Object, error) {
	data, err := engine.ReadFileLimited(path, o)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(string(data)) == "" {
		return nil, nil
	}
	var v any
	if yaml {
		v, err = pyyaml.DecodeLimited(data, engine.MaxValues)
	} else {
		v, err = jsonvalue.DecodeLimited(data, engine.MaxValues)
	}
	if err != nil {
		return nil, err
	}
	obj, ok := v.(*jsonvalue.Object)
	if !ok {
		return nil, fmt.Errorf("%s: want a mapping at the top level", path)
	}
	return obj, nil
}

// controlSpecs turns a mapping of name → control declaration into global control specs.
func controlSpecs(ctls *jsonvalue.Object, where string) ([]engine.ControlSpec, error) {
	var out []engine.ControlSpec
	for _, name := range ctls.Keys() {
		decl, ok := ctls.Value(name).(*jsonvalue.Object)
		if !ok {
			return nil, fmt.Errorf("%s: control '%s' must be a mapping with a provider", where, name)
		}
		spec := engine.ControlSpec{Name: name}
		if sc, ok := decl.Value("scope").(string); ok {
			spec.Scope = sc
		}
		prov, ok := decl.Value("provider").(*jsonvalue.Object)
		if !ok {
			return nil, fmt.Errorf("%s: control '%s' has no provider mapping", where, name)
		}
		if t, _ := prov.Value("type").(string); t != "python" {
			return nil, fmt.Errorf("%s: control '%s': provider type must be 'python', got %s", where, name, strconv.Quote(fmt.Sprint(prov.Value("type"))))
		}
		mod, _ := prov.Value("module").(string)
		if mod == "" {
			return nil, fmt.Errorf("%s: control '%s': provider has no module", where, name)
		}
		spec.Module = mod
		if args, ok := prov.Value("arguments").(*jsonvalue.Object); ok {
			spec.Arguments, _ = jsonvalue.Plain(args).(map[string]any)
		}
		out = append(out, spec)
	}
	return out, nil
}

func nestedString(o *jsonvalue.Object, keys ...string) string {
	var v any = o
	for _, k := range keys {
		obj, ok := v.(*jsonvalue.Object)
		if !ok {
			return ""
		}
		v = obj.Value(k)
	}
	s, _ := v.(string)
	return s
}

// checkPaths refuses, as click's Path(exists=True) does, a --var-file or --control-file that
// does not exist, and a --var that does not parse: usage errors (exit 2) before anything is
// read.
func (f *runFlags) checkPaths() error {
	for _, p := range []struct {
		flag  string
		paths []string
	}{{"--var-file", f.varFiles}, {"--control-file", f.controlFiles}} {
		for _, path := range p.paths {
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("invalid value for '%s': path '%s' does not exist", p.flag, path)
			}
		}
	}
	for _, v := range f.vars { // click's --var callback: a bad value is a usage error
		if _, _, err := engine.ParseVar(v); err != nil {
			return err
		}
	}
	return nil
}

// strategies applies chaos run's precedence: the flag, then the experiment's runtime block
// (when it has one, both strategies come from it), then the settings' runtime, then "default".
// An empty result lets the engine apply the experiment's block itself.
func (s *ctkSettings) strategies(exp *engine.Experiment, hypothesis, rollback string) (string, string) {
	if rt, ok := exp.Object().Value("runtime").(*jsonvalue.Object); ok && rt.Len() > 0 {
		return hypothesis, rollback
	}
	if hypothesis == "" {
		hypothesis = s.hypothesisStrategy
	}
	if rollback == "" {
		rollback = s.rollbackStrategy
	}
	return hypothesis, rollback
}

func orDefault(s string) string {
	if s == "" {
		return "default"
	}
	return s
}
