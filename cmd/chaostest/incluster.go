//go:build chaostest_k8s

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/incluster"
	"github.com/chaostest/chaostest/internal/cluster"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
)

// inClusterFlags are the options of `chaostest run --in-cluster` on top of chaos run's.
type inClusterFlags struct {
	inCluster      bool
	namespace      string
	serviceAccount string
	keep           bool
	image          string
	ttl            time.Duration
	grace          time.Duration
	parallel       int
	ownNamespace   bool
	varFileEach    multi
}

// localOnly are the flags the CLI consumes itself: they are not passed to the pod's chaostest.
var localOnly = map[string]bool{"in-cluster": true, "namespace": true, "service-account": true, "keep": true,
	"image": true, "ttl": true, "grace": true, "journal-path": true, "parallel": true, "own-namespace": true, "var-file-each": true,
	"cron": true, "time-zone": true, "history": true}

func addInClusterFlags(fs *flag.FlagSet) *inClusterFlags {
	c := &inClusterFlags{}
	fs.BoolVar(&c.inCluster, "in-cluster", false, "run the experiment as a Kubernetes Job (see README: Running inside the cluster)")
	fs.StringVar(&c.namespace, "namespace", "default", "with --in-cluster: the namespace of the Job and of its objects")
	fs.StringVar(&c.serviceAccount, "service-account", "", "with --in-cluster: run as this service account instead of one bound to the narrowest role the experiment needs")
	fs.BoolVar(&c.keep, "keep", false, "with --in-cluster: keep the Job and its objects after the run")
	fs.StringVar(&c.image, "image", "", "with --in-cluster: the chaostest image to run (pushed with `chaostest image push`); default: build it from this executable and load it into the local cluster's node")
	fs.DurationVar(&c.ttl, "ttl", 10*time.Minute, "with --in-cluster: the Job's ttlSecondsAfterFinished (what cleans up when the CLI is killed)")
	fs.DurationVar(&c.grace, "grace", 2*time.Minute, "with --in-cluster: the time the pod's rollbacks get after Ctrl-C")
	fs.IntVar(&c.parallel, "parallel", 0, "with --in-cluster and several FILEs: run at most this many Jobs at once (default: all)")
	fs.BoolVar(&c.ownNamespace, "own-namespace", false, "with --in-cluster: run each Job in a namespace of its own, created and deleted with the run")
	fs.Var(&c.varFileEach, "var-file-each", "with --in-cluster: run each experiment once per such var file (repeatable), as one Job each, after the shared --var-file ones")
	return c
}

// clusterAccess is the cluster and the image in-cluster runs use.
type clusterAccess struct {
	cs        kubernetes.Interface
	image     string
	pull      corev1.PullPolicy
	apiServer string
}

// connect opens the cluster of the kubeconfig and finds the image: --image, or this
// executable's image built and loaded into the local cluster's node.
func connect(ctx context.Context, image string, logf func(engine.Level, string)) (*clusterAccess, error) {
	rc, err := restConfig()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	a := &clusterAccess{cs: cs, image: image, pull: corev1.PullIfNotPresent, apiServer: loopbackAPI(rc.Host)}
	if image != "" {
		return a, nil
	}
	local := cluster.DefaultConfig()
	if rc.Host != local.APIServerURL() {
		return nil, fmt.Errorf("%s is not the local cluster: push the chaostest image to a registry the cluster can pull from (`chaostest image push REGISTRY/chaostest:TAG`) and pass --image with the reference it prints", rc.Host)
	}
	self, err := cliExecutable()
	if err != nil {
		return nil, err
	}
	bins, err := incluster.Binaries(self)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	ref, cached, err := incluster.LoadLocal(ctx, local, bins)
	if err != nil {
		return nil, fmt.Errorf("loading the chaostest image into the node: %w", err)
	}
	how := "built and loaded into the local node in " + time.Since(t0).Round(time.Millisecond).String()
	if cached {
		how = "already on the local node"
	}
	logf(engine.LevelDebug, fmt.Sprintf("in-cluster run: image %s %s", ref, how))
	a.image, a.pull = ref, corev1.PullNever
	return a, nil
}

// podPlan is what the pod of one experiment file (with one --var-file-each file) needs.
type podPlan struct {
	file  string
	label string // the file's name (+ the --var-file-each file's): its lines' prefix and journal name
	title string
	opts  incluster.Options
}

// planPod loads the experiment file and derives its pod's command line, files, environment and
// permissions. args are the command's arguments: positional ones other than file are dropped.
func planPod(g *globalOpts, fs *flag.FlagSet, f *runFlags, c *inClusterFlags, args []string, file string, vars *engine.Vars) (*podPlan, error) {
	exp, err := load(file, f.loadOptions())
	if err != nil {
		return nil, err
	}
	files := map[string]string{}
	podArgs, err := rewriteRunArgs(fs, args, func(flagName, value string, i int) (string, error) {
		if flagName == "" && value != file {
			return "", nil // another experiment's Job
		}
		if isURL(value) {
			return value, nil
		}
		data, err := os.ReadFile(value)
		if err != nil {
			return "", err
		}
		key := "experiment" + filepath.Ext(value)
		if flagName != "" {
			key = fmt.Sprintf("%s-%d%s", flagName, i, filepath.Ext(value))
		}
		files[key] = string(data)
		return incluster.ExperimentDir + "/" + key, nil
	})
	if err != nil {
		return nil, err
	}
	podCmd := []string{"/chaostest"}
	if g.verbose {
		podCmd = append(podCmd, "--verbose")
	}
	podCmd = append(podCmd, "--log-format", g.logFormat, "--no-log-file")
	if data, err := os.ReadFile(g.settingsPath); err == nil {
		files["settings.yaml"] = string(data)
		podCmd = append(podCmd, "--settings", incluster.ExperimentDir+"/settings.yaml")
	} else if g.settingsSet {
		return nil, fmt.Errorf("--settings %s: %w", g.settingsPath, err)
	}
	podCmd = append(podCmd, "in-pod")
	podCmd = append(podCmd, podArgs...)
	env, secretEnv := experimentEnv(exp.Object())
	var perms incluster.Permissions
	if c.serviceAccount == "" {
		perms, err = incluster.Derive(exp.Object(), resolver(exp.Object(), vars))
		if err != nil {
			return nil, err
		}
	}
	return &podPlan{file: file, title: exp.Title(), opts: incluster.Options{
		Namespace: c.namespace, Name: exp.Title(), Command: podCmd, Files: files, Env: env, SecretEnv: secretEnv,
		ServiceAccount: c.serviceAccount, Permissions: perms, Keep: c.keep, TTL: c.ttl, Grace: c.grace,
	}}, nil
}

// inClusterMain is `chaostest run --in-cluster ...`: the experiment runs in a Job; with
// several files, one Job each (runParallel).
func inClusterMain(g *globalOpts, args []string, stdout, stderr io.Writer) int {
	start := time.Now()
	fs, f := newRunFlags("run", stderr)
	c := addInClusterFlags(fs)
	pos, code, ok := parseCommand(fs, "chaostest run --in-cluster [--namespace NS] [--service-account SA] [--keep] [--parallel N] [options] FILE...", args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		fmt.Fprintln(stderr, "usage: chaostest run --in-cluster [options] FILE... (one or more experiment files or URLs)")
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
	fail := func(err error) int {
		logf(engine.LevelError, err.Error())
		return 1
	}
	// one Job per experiment file, and per --var-file-each file when given
	each := []string{""}
	if len(c.varFileEach) > 0 {
		each = c.varFileEach
	}
	journals := map[string]string{}
	var plans []*podPlan
	for _, p := range pos {
		for _, v := range each {
			label, extra := filepath.Base(p), []string(nil)
			if v != "" {
				label += "+" + filepath.Base(v)
				extra = []string{"--var-file", v}
			}
			jp := f.journalPath
			if len(pos)*len(each) > 1 {
				jp = parallelJournalPath(f.journalPath, label)
			}
			if err := checkJournalPath(jp, p, append(append([]string{}, f.varFiles...), extra...)); err != nil {
				return fail(err)
			}
			vars, err := f.loadVarsWith(v)
			if err != nil {
				return fail(err)
			}
			plan, err := planPod(g, fs, f, c, append(append([]string{}, args...), extra...), p, vars)
			if err != nil {
				return fail(err)
			}
			plan.label = label
			journals[label] = jp
			plans = append(plans, plan)
		}
	}
	ctx := context.Background()
	acc, err := connect(ctx, c.image, logf)
	if err != nil {
		return fail(fmt.Errorf("--in-cluster: %w", err))
	}

	// Ctrl-C: the first stops the pods (their rollbacks run), the second stops waiting.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sig)
	var mu sync.Mutex
	var interrupts []chan struct{}
	go func() {
		for s := range sig {
			logf(engine.LevelWarning, fmt.Sprintf("Caught signal %s: stopping the in-cluster run; its rollbacks run in the pod (a second one stops waiting)", signalName(s)))
			mu.Lock()
			for _, ch := range interrupts {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
			mu.Unlock()
		}
	}()
	runOne := func(plan *podPlan, log io.Writer) (incluster.Result, error) {
		o := plan.opts
		o.Image, o.PullPolicy, o.APIServer, o.Log = acc.image, acc.pull, acc.apiServer, log
		o.Info = func(msg string) { logf(engine.LevelDebug, msg) }
		o.OwnNamespace = c.ownNamespace
		ch := make(chan struct{}, 2)
		mu.Lock()
		interrupts = append(interrupts, ch)
		mu.Unlock()
		return incluster.Run(ctx, acc.cs, o, ch)
	}
	if len(plans) == 1 {
		res, err := runOne(plans[0], stderr)
		if err != nil {
			return fail(err)
		}
		code := keepResult(res, journals[plans[0].label], logf)
		logf(engine.LevelDebug, fmt.Sprintf("in-cluster run: job %s ended with exit code %d after %s", res.Job, res.ExitCode, time.Since(start).Round(time.Millisecond)))
		return code
	}
	return runParallel(plans, journals, c.parallel, runOne, stdout, stderr, logf, start)
}

// keepResult writes the run's journal to path and returns the exit code of the run: the pod's,
// or, when it is not known, the journal's verdict.
func keepResult(res incluster.Result, path string, logf func(engine.Level, string)) int {
	if res.Journal != nil {
		if err := writeFileAtomic(path, res.Journal); err != nil {
			logf(engine.LevelError, fmt.Sprintf("cannot write the journal: %v", err))
			return 1
		}
	} else if res.JournalErr != nil {
		logf(engine.LevelWarning, "in-cluster run: no journal came back: "+res.JournalErr.Error())
	}
	if res.ExitCode >= 0 {
		return res.ExitCode
	}
	if res.Journal != nil {
		if j, err := journal.Parse(res.Journal); err == nil && j.Status == journal.StatusCompleted && !j.Deviated {
			return 0
		}
	}
	return 1
}

// inPodMain is what the Job's pod runs: `chaostest run` with the journal then printed to
// stdout in the framing the CLI reads back (incluster.WriteJournal). The journal is written to
// a fresh file in $TMPDIR (the pod's writable WorkDir).
func inPodMain(g *globalOpts, args []string, stdout, stderr io.Writer) int {
	dir, err := os.MkdirTemp("", "chaostest-journal-")
	if err != nil {
		fmt.Fprintf(stderr, "chaostest in-pod: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "journal.json")
	code := runMain(g, append(args, "--journal-path", path), stdout, stderr)
	data, err := os.ReadFile(path)
	if err != nil {
		return code // no journal (a load or validation error): the log says why
	}
	keepJournalInCluster(data, stderr)
	if err := incluster.WriteJournal(stdout, data); err != nil {
		fmt.Fprintf(stderr, "chaostest: writing the journal to the log: %v\n", err)
		return 1
	}
	return code
}

// rewriteRunArgs returns the run arguments for the pod's chaostest: without the flags the CLI
// consumes, with every file (the experiment, --var-file, --control-file) replaced by mapFile's
// result (its path in the pod); a positional argument mapped to "" is dropped.
func rewriteRunArgs(fs *flag.FlagSet, args []string, mapFile func(flagName, value string, i int) (string, error)) ([]string, error) {
	var out []string
	counts := map[string]int{}
	mapped := func(name, v string) (string, error) {
		counts[name]++
		return mapFile(name, v, counts[name])
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			for _, p := range args[i+1:] {
				m, err := mapped("", p)
				if err != nil {
					return nil, err
				}
				if m != "" {
					out = append(out, m)
				}
			}
			break
		}
		if len(a) < 2 || a[0] != '-' {
			m, err := mapped("", a)
			if err != nil {
				return nil, err
			}
			if m != "" {
				out = append(out, m)
			}
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		fl := fs.Lookup(name)
		if fl == nil {
			return nil, fmt.Errorf("unknown flag %s", a)
		}
		bf, isBool := fl.Value.(interface{ IsBoolFlag() bool })
		if (!isBool || !bf.IsBoolFlag()) && !hasVal {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("flag %s needs a value", a)
			}
			i++
			val, hasVal = args[i], true
		}
		switch {
		case localOnly[name]:
		case name == "var-file" || name == "control-file":
			m, err := mapped(name, val)
			if err != nil {
				return nil, err
			}
			out = append(out, "--"+name, m)
		case hasVal:
			out = append(out, "--"+name+"="+val)
		default:
			out = append(out, "--"+name)
		}
	}
	return out, nil
}

func isURL(s string) bool { return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") }

// experimentEnv returns the environment variables the experiment's configuration (env) and
// secrets (secrets) read, with their values here, so the pod sees what a local run sees.
func experimentEnv(exp *jsonvalue.Object) (env, secrets map[string]string) {
	env, secrets = map[string]string{}, map[string]string{}
	collect := func(v any, into map[string]string) {
		o, ok := v.(*jsonvalue.Object)
		if !ok || o.Value("type") != "env" {
			return
		}
		if k, ok := o.Value("key").(string); ok {
			if val, ok := os.LookupEnv(k); ok {
				into[k] = val
			}
		}
	}
	if cfg, ok := exp.Value("configuration").(*jsonvalue.Object); ok {
		for _, k := range cfg.Keys() {
			collect(cfg.Value(k), env)
		}
	}
	if sec, ok := exp.Value("secrets").(*jsonvalue.Object); ok {
		for _, scope := range sec.Keys() {
			if s, ok := sec.Value(scope).(*jsonvalue.Object); ok {
				for _, k := range s.Keys() {
					collect(s.Value(k), secrets)
				}
			}
		}
	}
	return env, secrets
}

var reference = regexp.MustCompile(`\$\{([^}]+)\}`)

// resolver substitutes ${key} in a provider argument with the configuration value the run
// will see: --var / --var-file first, then the experiment's configuration (a value, or an env
// entry read here).
func resolver(exp *jsonvalue.Object, vars *engine.Vars) incluster.Resolver {
	cfg, _ := exp.Value("configuration").(*jsonvalue.Object)
	return func(s string) (string, error) {
		var missing error
		out := reference.ReplaceAllStringFunc(s, func(m string) string {
			key := m[2 : len(m)-1]
			if v, ok := vars.Configuration[key]; ok {
				return fmt.Sprint(v)
			}
			if cfg != nil {
				switch v := cfg.Value(key).(type) {
				case string:
					return v
				case *jsonvalue.Object:
					if v.Value("type") == "env" {
						k, _ := v.Value("key").(string)
						if val, ok := os.LookupEnv(k); ok {
							return val
						}
						if d, ok := v.Get("default"); ok {
							return fmt.Sprint(d)
						}
					}
				}
			}
			missing = fmt.Errorf("%s is not known before the run; give it with --var or use --service-account", m)
			return m
		})
		return out, missing
	}
}

// loopbackAPI returns "host:port" when the API server's URL is on loopback (the local
// cluster's is): the pod then runs on the host network to reach it there.
func loopbackAPI(host string) string {
	u, err := url.Parse(host)
	if err != nil {
		return ""
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	h := u.Hostname()
	if h == "localhost" {
		h = "127.0.0.1"
	}
	return net.JoinHostPort(h, port)
}

// imageMain is `chaostest image push|save`: the in-cluster image for another cluster.
func imageMain(args []string, stdout, stderr io.Writer) int {
	const use = `usage: chaostest image push REF [--insecure]   push the in-cluster image (this chaostest and its helpers) to a registry
       chaostest image save REF --out FILE       write it as a docker-archive tarball (kind load image-archive FILE)
`
	if len(args) == 0 {
		fmt.Fprint(stderr, use)
		return 2
	}
	fs := flag.NewFlagSet("image "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	insecure := fs.Bool("insecure", false, "push over plain HTTP")
	out := fs.String("out", "chaostest-image.tar", "the tarball to write (save)")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil || len(pos) != 1 {
		fmt.Fprint(stderr, use)
		return 2
	}
	self, err := cliExecutable()
	if err == nil {
		var bins []string
		if bins, err = incluster.Binaries(self); err == nil {
			switch args[0] {
			case "push":
				var ref string
				if ref, err = incluster.PushImage(context.Background(), bins, pos[0], *insecure); err == nil {
					fmt.Fprintln(stdout, ref)
					return 0
				}
			case "save":
				if err = incluster.SaveImage(bins, pos[0], *out); err == nil {
					fmt.Fprintf(stdout, "wrote %s (%s)\n", *out, pos[0])
					return 0
				}
			default:
				err = errors.New("unknown command " + strconv.Quote(args[0]))
			}
		}
	}
	fmt.Fprintf(stderr, "chaostest image: %v\n", err)
	return 1
}
