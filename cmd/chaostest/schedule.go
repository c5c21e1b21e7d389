//go:build chaostest_k8s

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/incluster"
)

const scheduleUsage = `usage: chaostest schedule create NAME --cron "0 3 * * *" [--history N] [--namespace NS] [run options] FILE
       chaostest schedule list [--namespace NS | --all-namespaces]
       chaostest schedule trigger NAME [--namespace NS]   start a run now
       chaostest schedule delete NAME [--namespace NS]    the schedule, its runs and their journals
`

// scheduleMain is `chaostest schedule`: experiments run by a CronJob, keeping their journals in
// the cluster (see `chaostest journals`).
func scheduleMain(g *globalOpts, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, scheduleUsage)
		return 2
	}
	switch args[0] {
	case "create":
		return scheduleCreate(g, args[1:], stdout, stderr)
	case "list", "trigger", "delete":
	case "-h", "--help", "help":
		fmt.Fprint(stdout, scheduleUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "chaostest schedule: unknown command %q\n%s", args[0], scheduleUsage)
		return 2
	}
	fs := flag.NewFlagSet("schedule "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	ns := fs.String("namespace", "default", "the schedule's namespace")
	all := fs.Bool("all-namespaces", false, "list: the schedules of every namespace")
	pos, code, ok := parseCommand(fs, "chaostest schedule "+args[0]+" [options]", args[1:], stdout, stderr)
	if !ok {
		return code
	}
	if (args[0] == "list") != (len(pos) == 0) {
		fmt.Fprint(stderr, scheduleUsage)
		return 2
	}
	cs, err := kubeClient()
	if err != nil {
		fmt.Fprintf(stderr, "chaostest schedule: %v\n", err)
		return 1
	}
	ctx := context.Background()
	switch args[0] {
	case "list":
		n := *ns
		if *all {
			n = ""
		}
		l, err := incluster.ListSchedules(ctx, cs, n)
		if err != nil {
			fmt.Fprintf(stderr, "chaostest schedule list: %v\n", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAMESPACE\tNAME\tSCHEDULE\tSUSPENDED\tACTIVE\tLAST RUN\tHISTORY")
		for _, s := range l {
			last := "never"
			if !s.LastSchedule.IsZero() {
				last = s.LastSchedule.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%d\t%s\t%d\n", s.Namespace, s.Name, s.Cron, s.Suspended, s.Active, last, s.History)
		}
		_ = tw.Flush()
	case "trigger":
		job, err := incluster.TriggerSchedule(ctx, cs, *ns, pos[0])
		if err != nil {
			fmt.Fprintf(stderr, "chaostest schedule trigger: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "started job %s/%s (its journal: chaostest journals get %s --namespace %s)\n", *ns, job, job, *ns)
	case "delete":
		if err := incluster.DeleteSchedule(ctx, cs, *ns, pos[0]); err != nil {
			fmt.Fprintf(stderr, "chaostest schedule delete: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "deleted schedule %s/%s, its runs and their journals\n", *ns, pos[0])
	}
	return 0
}

// scheduleCreate is `chaostest schedule create NAME --cron ... [run options] FILE`.
func scheduleCreate(g *globalOpts, args []string, stdout, stderr io.Writer) int {
	fs, f := newRunFlags("run", stderr)
	c := addInClusterFlags(fs)
	cron := fs.String("cron", "", "the CronJob's schedule, e.g. \"0 3 * * *\" (required)")
	tz := fs.String("time-zone", "", "the time zone of --cron (default: the cluster's controller manager's)")
	history := fs.Int("history", 5, "journals kept: those of the last N successful and the last N failed runs")
	pos, code, ok := parseCommand(fs, `chaostest schedule create NAME --cron "0 3 * * *" [--history N] [--namespace NS] [run options] FILE`, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) != 2 || *cron == "" {
		fmt.Fprint(stderr, scheduleUsage)
		return 2
	}
	name, file := pos[0], pos[1]
	lg, err := newLogger(stderr, g)
	if err != nil {
		fmt.Fprintf(stderr, "chaostest schedule: %v\n", err)
		return 1
	}
	defer lg.close()
	fail := func(err error) int {
		lg.log(engine.LevelError, "chaostest schedule create: "+err.Error())
		return 1
	}
	vars, err := f.loadVars()
	if err != nil {
		return fail(err)
	}
	// the NAME is positional too: drop it from the pod's arguments
	plan, err := planPod(g, fs, f, c, withoutFirst(args, name), file, vars)
	if err != nil {
		return fail(err)
	}
	acc, err := connect(context.Background(), c.image, lg.log)
	if err != nil {
		return fail(err)
	}
	o := plan.opts
	o.Name, o.Image, o.PullPolicy, o.APIServer = name, acc.image, acc.pull, acc.apiServer
	if err := incluster.CreateSchedule(context.Background(), acc.cs, incluster.ScheduleOptions{Options: o, Cron: *cron, TimeZone: *tz, History: *history}); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "created schedule %s/%s (%s) for %s; journals: chaostest journals list %s --namespace %s\n", o.Namespace, name, *cron, plan.title, name, o.Namespace)
	return 0
}

// withoutFirst returns args without the first argument equal to s.
func withoutFirst(args []string, s string) []string {
	for i, a := range args {
		if a == s {
			return append(append([]string{}, args[:i]...), args[i+1:]...)
		}
	}
	return args
}

const journalsUsage = `usage: chaostest journals list [SCHEDULE] [--namespace NS | --all-namespaces]
       chaostest journals get RUN [--namespace NS] [--out FILE]   (then: chaostest report FILE)
`

// journalsMain is `chaostest journals`: the journals the runs of schedules kept in the cluster.
func journalsMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "get") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, journalsUsage)
			return 0
		}
		fmt.Fprint(stderr, journalsUsage)
		return 2
	}
	fs := flag.NewFlagSet("journals "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	ns := fs.String("namespace", "default", "the namespace of the schedules")
	all := fs.Bool("all-namespaces", false, "list: the journals of every namespace")
	out := fs.String("out", "", "get: write the journal to this file instead of stdout")
	pos, code, ok := parseCommand(fs, "chaostest journals "+args[0]+" [options]", args[1:], stdout, stderr)
	if !ok {
		return code
	}
	if (args[0] == "get" && len(pos) != 1) || len(pos) > 1 {
		fmt.Fprint(stderr, journalsUsage)
		return 2
	}
	cs, err := kubeClient()
	if err != nil {
		fmt.Fprintf(stderr, "chaostest journals: %v\n", err)
		return 1
	}
	ctx := context.Background()
	if args[0] == "get" {
		data, err := incluster.GetJournal(ctx, cs, *ns, pos[0])
		if err != nil {
			fmt.Fprintf(stderr, "chaostest journals get: %v\n", err)
			return 1
		}
		if *out != "" {
			if err := writeFileAtomic(*out, data); err != nil {
				fmt.Fprintf(stderr, "chaostest journals get: %v\n", err)
				return 1
			}
			return 0
		}
		_, _ = stdout.Write(data)
		return 0
	}
	n, schedule := *ns, ""
	if *all {
		n = ""
	}
	if len(pos) == 1 {
		schedule = pos[0]
	}
	l, err := incluster.ListJournals(ctx, cs, n, schedule)
	if err != nil {
		fmt.Fprintf(stderr, "chaostest journals list: %v\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tRUN\tSCHEDULE\tSTARTED\tDURATION\tSTATUS\tDEVIATED")
	for _, j := range l {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1fs\t%s\t%t\n", j.Namespace, j.Name, j.Schedule, j.Start.UTC().Format(time.RFC3339), j.Duration, j.Status, j.Deviated)
	}
	_ = tw.Flush()
	return 0
}

// restConfig is the kubeconfig's client configuration (KUBECONFIG or ~/.kube/config, like
// kubectl), allowed 100 requests a second: client-go's default 5 would queue the requests of
// parallel runs behind each other.
func restConfig() (*rest.Config, error) {
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no Kubernetes configuration: %w", err)
	}
	rc.QPS, rc.Burst = 100, 200
	return rc, nil
}

// kubeClient is a clientset for the kubeconfig (restConfig).
func kubeClient() (kubernetes.Interface, error) {
	rc, err := restConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(rc)
}

// keepJournalInCluster keeps a scheduled run's journal in a ConfigMap (incluster.KeepJournal);
// outside a scheduled run's pod it does nothing.
func keepJournalInCluster(data []byte, stderr io.Writer) {
	if os.Getenv("CHAOSTEST_SCHEDULE") == "" {
		return
	}
	rc, err := rest.InClusterConfig()
	if err == nil {
		var cs kubernetes.Interface
		if cs, err = kubernetes.NewForConfig(rc); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err = incluster.KeepJournal(ctx, cs, data)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "chaostest: keeping the journal in the cluster: %v (it is in this log)\n", err)
	}
}
