//go:build chaos

package incluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/chaostest/chaostest/cluster"
	"github.com/chaostest/chaostest/incluster"
	"github.com/chaostest/chaostest/journal"
)

// podImage is the image of providers/k8s/testdata/podserver: the service the experiments probe.
const podImage = "chaostest.local/podserver:dev"

var (
	cs     kubernetes.Interface
	cliBin string // chaostest, with chaostest-k8s next to it, as `make build` puts them
)

// TestMain gives the tests a real cluster (cluster.Setup: the one KUBECONFIG names, or the
// local one), loads the podserver image, and builds the CLI and its Kubernetes helper, static,
// into a temporary directory: the tests run them as a user would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chaostest-incluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cliBin = filepath.Join(dir, "chaostest")
	testenv := env.New()
	testenv.Setup(cluster.Setup(), func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		c, err := kubernetes.NewForConfig(cfg.Client().RESTConfig())
		if err != nil {
			return ctx, err
		}
		cs = c
		for _, b := range []struct{ out, tags string }{{cliBin, ""}, {filepath.Join(dir, "chaostest-k8s"), "chaostest_k8s"}} {
			cmd := exec.Command("go", "build", "-tags", b.tags, "-o", b.out, "../cmd/chaostest")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				return ctx, fmt.Errorf("go build %s: %v\n%s", b.out, err, out)
			}
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		if err := cluster.LoadGoImage(lctx, "../providers/k8s/testdata/podserver", podImage); err != nil {
			return ctx, fmt.Errorf("loading the podserver image: %w", err)
		}
		return ctx, nil
	})
	testenv.Finish(cluster.Finish())
	code := testenv.Run(m)
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// namespace creates a namespace for one test, deleted at its end.
func namespace(t *testing.T) string {
	t.Helper()
	ns := "ict-" + rand.String(6)
	_, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	return ns
}

// deployServer runs two podserver replicas labelled app=<name> behind a Service and returns
// the Service's URL once it answers.
func deployServer(t *testing.T, ns, name string) string {
	t.Helper()
	ctx := context.Background()
	two := int32(2)
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: appsv1.DeploymentSpec{
		Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "server", Image: podImage, ImagePullPolicy: corev1.PullNever,
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1}}},
		}},
	}}
	_, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	require.NoError(t, err)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.ServiceSpec{
		Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
	s, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	require.NoError(t, err)
	url := "http://" + s.Spec.ClusterIP + "/"
	deadline := time.Now().Add(2 * time.Minute)
	for {
		dep, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		if dep.Status.ReadyReplicas == two {
			break
		}
		require.True(t, time.Now().Before(deadline), "deployment %s/%s not ready", ns, name)
		time.Sleep(250 * time.Millisecond)
	}
	// kube-proxy programs the Service a moment after its endpoints exist: wait for five
	// answers in a row on new connections
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for streak := 0; streak < 5; {
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
		}
		if err == nil && resp.StatusCode == 200 {
			streak++
		} else {
			streak = 0
		}
		require.True(t, time.Now().Before(deadline), "service %s/%s does not answer at %s: %v", ns, name, url, err)
		time.Sleep(100 * time.Millisecond)
	}
	return url
}

// seedExperiment is the workshop's experiment in the seed's shape: a steady state of a pods
// probe and an http probe, a method that terminates a pod and pauses, and the probes again.
func seedExperiment(ns, app, url string) string {
	return fmt.Sprintf(`{
  "version": "1.0.0",
  "title": "Terminating a server pod should not impact users",
  "description": "seed-shaped experiment for the in-cluster comparison",
  "tags": ["k8s", "incluster"],
  "configuration": {"url": %q},
  "steady-state-hypothesis": {
    "title": "Services are all available and healthy",
    "probes": [
      {"type": "probe", "name": "server-pods-are-running", "tolerance": true,
       "provider": {"type": "python", "module": "chaosk8s.pod.probes", "func": "pods_in_phase",
                    "arguments": {"label_selector": "app=%s", "phase": "Running", "ns": %q}}},
      {"type": "probe", "name": "server-must-respond", "tolerance": 200,
       "provider": {"type": "http", "url": "${url}", "timeout": 3}}
    ]
  },
  "method": [
    {"type": "action", "name": "terminate-one-server-pod",
     "provider": {"type": "python", "module": "chaosk8s.pod.actions", "func": "terminate_pods",
                  "arguments": {"label_selector": "app=%s", "ns": %q, "qty": 1, "rand": true}},
     "pauses": {"after": 8}}
  ],
  "rollbacks": []
}`, url, app, ns, app, ns)
}

type cliResult struct {
	code           int
	stdout, stderr string
}

// chaostest runs the CLI in dir and returns its exit code and output.
func chaostest(t *testing.T, dir string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(cliBin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return cliResult{code, stdout.String(), stderr.String()}
}

var (
	stamp   = regexp.MustCompile(`^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\w+)\] `)
	podName = regexp.MustCompile(`\b(server-[a-z0-9]+)-[a-z0-9]{5}\b`)
)

// runLines are the run's own log lines with their times and pod names masked (the CLI's
// debug lines and the pod's framing are not among them).
func runLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if m := stamp.FindStringSubmatch(l); m != nil && m[1] != "DEBUG" {
			out = append(out, podName.ReplaceAllString(stamp.ReplaceAllString(l, "[$1] "), "$1-<pod>"))
		}
	}
	return out
}

// shape is the journal with everything that differs from run to run masked (times, pod
// names, addresses: journal.Normalize), as the snapshot tests compare journals.
func shape(t *testing.T, path string) string {
	t.Helper()
	j, err := journal.Read(path)
	require.NoError(t, err)
	b, err := json.MarshalIndent(journal.Normalize(j), "", "  ")
	require.NoError(t, err)
	return string(b)
}

// leftovers lists the objects of in-cluster runs (RunLabel) still present in ns and
// cluster-wide.
func leftovers(t *testing.T, ns string) []string {
	t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: incluster.ManagedByLabel + "=" + incluster.ManagedBy + "," + incluster.ComponentLabel + "=" + incluster.Component}
	var out []string
	add := func(kind string, items []metav1.Object) {
		for _, o := range items {
			if o.GetNamespace() == ns || o.GetNamespace() == "" {
				out = append(out, kind+" "+o.GetNamespace()+"/"+o.GetName())
			}
		}
	}
	jobs, err := cs.BatchV1().Jobs(ns).List(ctx, sel)
	require.NoError(t, err)
	pods, err := cs.CoreV1().Pods(ns).List(ctx, sel)
	require.NoError(t, err)
	cms, err := cs.CoreV1().ConfigMaps(ns).List(ctx, sel)
	require.NoError(t, err)
	secrets, err := cs.CoreV1().Secrets(ns).List(ctx, sel)
	require.NoError(t, err)
	sas, err := cs.CoreV1().ServiceAccounts(ns).List(ctx, sel)
	require.NoError(t, err)
	roles, err := cs.RbacV1().Roles(ns).List(ctx, sel)
	require.NoError(t, err)
	rbs, err := cs.RbacV1().RoleBindings(ns).List(ctx, sel)
	require.NoError(t, err)
	for i := range jobs.Items {
		add("job", []metav1.Object{&jobs.Items[i]})
	}
	for i := range pods.Items {
		add("pod", []metav1.Object{&pods.Items[i]})
	}
	for i := range cms.Items {
		add("configmap", []metav1.Object{&cms.Items[i]})
	}
	for i := range secrets.Items {
		add("secret", []metav1.Object{&secrets.Items[i]})
	}
	for i := range sas.Items {
		add("serviceaccount", []metav1.Object{&sas.Items[i]})
	}
	for i := range roles.Items {
		add("role", []metav1.Object{&roles.Items[i]})
	}
	for i := range rbs.Items {
		add("rolebinding", []metav1.Object{&rbs.Items[i]})
	}
	return out
}

// TestInClusterRunMatchesTheLocalRun runs the seed-shaped experiment locally and with
// --in-cluster: same exit code, same log lines (times aside), same normalised journal; and the
// in-cluster run leaves nothing behind.
func TestInClusterRunMatchesTheLocalRun(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	url := deployServer(t, ns, "server")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "seed.json"), []byte(seedExperiment(ns, "server", url)), 0o644))

	local := chaostest(t, dir, "run", "--journal-path", "local.json", "seed.json")
	require.Equal(t, 0, local.code, local.stderr)
	// the terminated pod is replaced before the second run
	time.Sleep(3 * time.Second)
	deployServer2Ready(t, ns, "server")
	remote := chaostest(t, dir, "--verbose", "run", "--in-cluster", "--namespace", ns, "--journal-path", "incluster.json", "seed.json")
	require.Equal(t, local.code, remote.code, remote.stderr)
	assert.Equal(t, runLines(local.stderr), runLines(remote.stderr), "the pod's lines are the local run's")
	assert.Equal(t, shape(t, filepath.Join(dir, "local.json")), shape(t, filepath.Join(dir, "incluster.json")))
	assert.Contains(t, remote.stderr, "in-cluster run: job "+ns+"/")
	assert.Empty(t, leftovers(t, ns), "nothing of the run is left")
}

// deployServer2Ready waits until the deployment has all its replicas ready again.
func deployServer2Ready(t *testing.T, ns, name string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		dep, err := cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		require.NoError(t, err)
		if dep.Status.ReadyReplicas == *dep.Spec.Replicas && dep.Status.UpdatedReplicas == *dep.Spec.Replicas && dep.Status.Replicas == *dep.Spec.Replicas {
			return
		}
		require.True(t, time.Now().Before(deadline), "deployment %s/%s not ready again", ns, name)
		time.Sleep(250 * time.Millisecond)
	}
}

// TestInClusterRBACRefusal: the Job's service account may only read pods (a Role the test
// makes); the experiment's action deletes one. The action fails with the API server's
// "forbidden" in its journal record, and no pod is deleted.
func TestInClusterRBACRefusal(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	url := deployServer(t, ns, "server")
	ctx := context.Background()
	_, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reader"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "reader"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "reader", Namespace: ns}},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "reader"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	before, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=server"})
	require.NoError(t, err)

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "seed.json"), []byte(seedExperiment(ns, "server", url)), 0o644))
	res := chaostest(t, dir, "run", "--in-cluster", "--namespace", ns, "--service-account", "reader", "--journal-path", "j.json", "seed.json")
	// chaos run's verdict for a failed action: the run completes (exit 0), the record fails
	assert.Equal(t, 0, res.code, res.stderr)
	j, err := journal.Read(filepath.Join(dir, "j.json"))
	require.NoError(t, err, res.stderr)
	require.Len(t, j.Run, 1)
	rec := j.Run[0]
	assert.Equal(t, journal.RunFailed, rec.Status)
	exc := strings.Join(rec.Exception, "")
	assert.Contains(t, exc, "forbidden", "the API server's refusal is in the journal")
	assert.Contains(t, exc, `cannot delete resource "pods"`)
	assert.Contains(t, exc, "system:serviceaccount:"+ns+":reader")
	after, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=server"})
	require.NoError(t, err)
	var names []string
	for _, p := range before.Items {
		names = append(names, p.Name)
	}
	for _, p := range after.Items {
		assert.Contains(t, names, p.Name, "no pod was replaced")
		assert.Nil(t, p.DeletionTimestamp, "no pod is being deleted")
	}
	assert.Empty(t, leftovers(t, ns))
}

// TestInClusterKilledCLILeavesNothing: the CLI is killed with SIGKILL while the pod runs; the
// Job still finishes, its TTL removes it, and the garbage collector everything it owned.
func TestInClusterKilledCLILeavesNothing(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	dir := t.TempDir()
	exp := fmt.Sprintf(`{"title": "killed cli", "description": "d", "method": [
  {"type": "probe", "name": "count", "provider": {"type": "python", "module": "chaosk8s.pod.probes", "func": "count_pods",
   "arguments": {"label_selector": "app=none", "ns": %q}}, "pauses": {"after": 8}}]}`, ns)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "e.json"), []byte(exp), 0o644))
	cmd := exec.Command(cliBin, "--verbose", "run", "--in-cluster", "--namespace", ns, "--ttl", "3s", "--journal-path", "j.json", "e.json")
	cmd.Dir = dir
	var stderr syncBuffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(stderr.String(), "Action: count") && !strings.Contains(stderr.String(), "Probe: count") {
		require.True(t, time.Now().Before(deadline), "the pod did not start:\n%s", stderr.String())
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL))
	_ = cmd.Wait()
	require.NotEmpty(t, leftovers(t, ns), "the run was under way when the CLI died")
	deadline = time.Now().Add(2 * time.Minute)
	for {
		left := leftovers(t, ns)
		if len(left) == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "left after the Job's TTL: %v", left)
		time.Sleep(time.Second)
	}
	_, err := os.Stat(filepath.Join(dir, "j.json"))
	assert.True(t, os.IsNotExist(err), "no journal was written by the killed CLI")
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestInClusterParallel runs three experiments as three Jobs at once, each in a namespace of
// its own: one summary line each, the overall verdict, the worst exit code, one journal each
// next to --journal-path, and nothing left (namespaces included).
func TestInClusterParallel(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	url := deployServer(t, ns, "server")
	dir := t.TempDir()
	good := func(name string) string {
		return fmt.Sprintf(`{"title": %q, "description": "d", "steady-state-hypothesis": {"title": "up", "probes": [
  {"type": "probe", "name": "server-must-respond", "tolerance": 200, "provider": {"type": "http", "url": %q, "timeout": 3}}]},
  "method": [{"type": "probe", "name": "count", "provider": {"type": "python", "module": "chaosk8s.pod.probes", "func": "count_pods",
   "arguments": {"label_selector": "app=server", "ns": %q}}, "pauses": {"after": 1}}]}`, name, url, ns)
	}
	// the steady state (two server pods) holds before and not after the method scales the
	// deployment to three: deviated, exit code 1
	deviated := fmt.Sprintf(`{"title": "deviates", "description": "d", "steady-state-hypothesis": {"title": "two pods", "probes": [
  {"type": "probe", "name": "two-pods", "tolerance": 2, "provider": {"type": "python", "module": "chaosk8s.pod.probes", "func": "count_pods",
   "arguments": {"label_selector": "app=server", "ns": %q}}}]},
  "method": [{"type": "action", "name": "scale-up", "provider": {"type": "python", "module": "chaosk8s.deployment.actions", "func": "scale_deployment",
   "arguments": {"name": "server", "replicas": 3, "ns": %q}}, "pauses": {"after": 5}}]}`, ns, ns)
	for name, body := range map[string]string{"a.json": good("a"), "b.json": good("b"), "c.json": deviated} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "out"), 0o755))
	res := chaostest(t, dir, "run", "--in-cluster", "--own-namespace", "--parallel", "2", "--journal-path", "out/journal.json", "a.json", "b.json", "c.json")
	t.Log(res.stdout)
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	require.Len(t, lines, 4, res.stderr)
	assert.Regexp(t, `^a\.json +completed \(exit code 0, .*\) journal: out/journal-a\.json$`, lines[0])
	assert.Regexp(t, `^b\.json +completed \(exit code 0, .*\) journal: out/journal-b\.json$`, lines[1])
	assert.Regexp(t, `^c\.json +completed, deviated \(exit code 1, .*\) journal: out/journal-c\.json$`, lines[2])
	assert.Regexp(t, `^3 experiments in .*: 1 of 3 failed$`, lines[3])
	assert.Equal(t, 1, res.code)
	for _, f := range []string{"a", "b", "c"} {
		j, err := journal.Read(filepath.Join(dir, "out", "journal-"+f+".json"))
		require.NoError(t, err)
		assert.Equal(t, journal.StatusCompleted, j.Status)
	}
	assert.Contains(t, res.stderr, "a.json | ")
	nss, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{LabelSelector: incluster.ComponentLabel + "=" + incluster.Component})
	require.NoError(t, err)
	for _, n := range nss.Items {
		assert.NotNil(t, n.DeletionTimestamp, "namespace %s of a finished run is gone or going", n.Name)
	}
}

// TestSchedule: a schedule that fires every minute, two runs triggered by hand and the first
// scheduled one; with a history of 2, two journals are kept and the oldest is pruned; `journals
// get` returns a whole journal that `report` renders; `delete` leaves nothing.
func TestSchedule(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	dir := t.TempDir()
	exp := fmt.Sprintf(`{"title": "nightly", "description": "d", "method": [
  {"type": "probe", "name": "count", "provider": {"type": "python", "module": "chaosk8s.pod.probes", "func": "count_pods",
   "arguments": {"label_selector": "app=none", "ns": %q}}}]}`, ns)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "e.json"), []byte(exp), 0o644))
	res := chaostest(t, dir, "schedule", "create", "nightly", "--cron", "* * * * *", "--history", "2", "--namespace", ns, "e.json")
	require.Equal(t, 0, res.code, res.stderr)
	t.Cleanup(func() { chaostest(t, dir, "schedule", "delete", "nightly", "--namespace", ns) })
	res = chaostest(t, dir, "schedule", "list", "--namespace", ns)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Regexp(t, `(?m)^`+ns+` +nightly +\* \* \* \* \* +false +`, res.stdout)

	ctx := context.Background()
	waitJobDone := func(name string) {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			j, err := cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
			require.NoError(t, err)
			if j.Status.Succeeded+j.Status.Failed > 0 {
				return
			}
			require.True(t, time.Now().Before(deadline), "job %s did not finish", name)
			time.Sleep(250 * time.Millisecond)
		}
	}
	var manual []string
	for i := 0; i < 2; i++ {
		res = chaostest(t, dir, "schedule", "trigger", "nightly", "--namespace", ns)
		require.Equal(t, 0, res.code, res.stderr)
		m := regexp.MustCompile(`started job \S+/(\S+) `).FindStringSubmatch(res.stdout)
		require.NotNil(t, m, res.stdout)
		manual = append(manual, m[1])
		waitJobDone(m[1])
	}
	// the first scheduled run (within about a minute), then the pruning of the oldest journal
	deadline := time.Now().Add(150 * time.Second)
	var kept []incluster.KeptJournal
	for {
		var err error
		kept, err = incluster.ListJournals(ctx, cs, ns, "nightly")
		require.NoError(t, err)
		scheduled := false
		for _, k := range kept {
			scheduled = scheduled || !strings.Contains(k.Name, "-manual-")
		}
		if scheduled && len(kept) == 2 {
			break
		}
		require.True(t, time.Now().Before(deadline), "kept journals: %+v", kept)
		time.Sleep(time.Second)
	}
	names := []string{kept[0].Name, kept[1].Name}
	assert.NotContains(t, names, manual[0], "the oldest journal was pruned")
	assert.Contains(t, names, manual[1])
	_, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, manual[0], metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the pruned run's config map is gone: %v", err)

	res = chaostest(t, dir, "journals", "list", "nightly", "--namespace", ns)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, manual[1])
	assert.Regexp(t, `(?m)`+manual[1]+` +nightly +\S+ +[0-9.]+s +completed +false$`, res.stdout)
	res = chaostest(t, dir, "journals", "get", manual[1], "--namespace", ns, "--out", "kept.json")
	require.Equal(t, 0, res.code, res.stderr)
	j, err := journal.Read(filepath.Join(dir, "kept.json"))
	require.NoError(t, err)
	assert.Equal(t, journal.StatusCompleted, j.Status)
	require.Len(t, j.Run, 1)
	assert.Equal(t, journal.RunSucceeded, j.Run[0].Status)
	res = chaostest(t, dir, "report", "--format", "markdown", "-o", "-", "kept.json")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "nightly", "the report renders the kept journal")

	res = chaostest(t, dir, "schedule", "delete", "nightly", "--namespace", ns)
	require.Equal(t, 0, res.code, res.stderr)
	sel := metav1.ListOptions{LabelSelector: incluster.ScheduleLabel + "=nightly"}
	deadline = time.Now().Add(time.Minute)
	for {
		cms, err := cs.CoreV1().ConfigMaps(ns).List(ctx, sel)
		require.NoError(t, err)
		jobs, err := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		sas, err := cs.CoreV1().ServiceAccounts(ns).List(ctx, sel)
		require.NoError(t, err)
		roles, err := cs.RbacV1().Roles(ns).List(ctx, sel)
		require.NoError(t, err)
		if len(cms.Items)+len(jobs.Items)+len(sas.Items)+len(roles.Items) == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "left after delete: %d config maps, %d jobs, %d service accounts, %d roles",
			len(cms.Items), len(jobs.Items), len(sas.Items), len(roles.Items))
		time.Sleep(500 * time.Millisecond)
	}
}

// BenchmarkInClusterParallel8 measures the wall time of 8 experiments run in parallel with
// --in-cluster against the time of one, and reports the ratio (the target: at most 2).
// Each experiment lists pods and pauses 5 s.
//
//	go test -tags chaos -run '^$' -bench InClusterParallel8 -benchtime 1x ./incluster/
func BenchmarkInClusterParallel8(b *testing.B) {
	ns := "ict-bench-" + rand.String(4)
	ctx := context.Background()
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	require.NoError(b, err)
	defer func() { _ = cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}) }()
	dir := b.TempDir()
	var files []string
	for i := 0; i < 8; i++ {
		f := fmt.Sprintf("e%d.json", i)
		exp := fmt.Sprintf(`{"title": "bench %d", "description": "d", "method": [
  {"type": "probe", "name": "count", "provider": {"type": "python", "module": "chaosk8s.pod.probes", "func": "count_pods",
   "arguments": {"label_selector": "app=none", "ns": %q}}, "pauses": {"after": 5}}]}`, i, ns)
		require.NoError(b, os.WriteFile(filepath.Join(dir, f), []byte(exp), 0o644))
		files = append(files, f)
	}
	run := func(files ...string) time.Duration {
		args := append([]string{"run", "--in-cluster", "--namespace", ns, "--journal-path", "out/journal.json"}, files...)
		cmd := exec.Command(cliBin, args...)
		cmd.Dir = dir
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		require.NoError(b, err, "%s", out)
		return time.Since(t0)
	}
	require.NoError(b, os.MkdirAll(filepath.Join(dir, "out"), 0o755))
	run(files[0]) // the image is loaded once
	var one, eight time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		one += run(files[0])
		eight += run(files...)
	}
	b.ReportMetric(one.Seconds()/float64(b.N), "s/1-run")
	b.ReportMetric(eight.Seconds()/float64(b.N), "s/8-runs")
	b.ReportMetric(eight.Seconds()/one.Seconds(), "ratio-8/1")
}

// TestInClusterCtrlC: Ctrl-C while the pod's method runs stops the pod with its grace period;
// the pod's run is interrupted, plays its rollbacks (--rollback-strategy always), and its
// journal still comes back; the exit code is a local interrupted run's (1); nothing is left.
func TestInClusterCtrlC(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	dir := t.TempDir()
	exp := fmt.Sprintf(`{"title": "interrupted", "description": "d", "method": [
  {"type": "probe", "name": "count", "provider": {"type": "python", "module": "chaosk8s.pod.probes", "func": "count_pods",
   "arguments": {"label_selector": "app=none", "ns": %q}}, "pauses": {"after": 60}}],
  "rollbacks": [{"type": "probe", "name": "count-again", "provider": {"type": "python", "module": "chaosk8s.pod.probes", "func": "count_pods",
   "arguments": {"label_selector": "app=none", "ns": %q}}}]}`, ns, ns)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "e.json"), []byte(exp), 0o644))
	cmd := exec.Command(cliBin, "run", "--in-cluster", "--namespace", ns, "--rollback-strategy", "always", "--journal-path", "j.json", "e.json")
	cmd.Dir = dir
	var stderr syncBuffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(stderr.String(), "Pausing after activity for 60s") {
		require.True(t, time.Now().Before(deadline), "the pod did not reach its pause:\n%s", stderr.String())
		time.Sleep(100 * time.Millisecond)
	}
	t0 := time.Now()
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)) // Ctrl-C: the terminal's whole group
	err := cmd.Wait()
	log := stderr.String()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, log)
	assert.Equal(t, 1, ee.ExitCode(), log)
	assert.Less(t, time.Since(t0), 45*time.Second, "the pause was cut, not waited out")
	assert.Contains(t, log, "Caught signal SIGINT: stopping the in-cluster run")
	assert.Contains(t, log, "Caught SIGTERM signal, interrupting experiment now", "the pod's run got the kubelet's SIGTERM")
	assert.Contains(t, log, "Rollback: count-again")
	assert.Contains(t, log, "Experiment ended with status: interrupted")
	j, err := journal.Read(filepath.Join(dir, "j.json"))
	require.NoError(t, err, log)
	assert.Equal(t, journal.StatusInterrupted, j.Status)
	require.Len(t, j.Rollbacks, 1)
	assert.Equal(t, journal.RunSucceeded, j.Rollbacks[0].Status)
	assert.Empty(t, leftovers(t, ns))
}

// TestInClusterVarFileEach runs one experiment once per --var-file-each file, as two Jobs:
// each pod sees its own configuration (the label its probe counts), on top of the shared
// --var-file, and each journal is named after both files.
func TestInClusterVarFileEach(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	deployServer(t, ns, "server")
	dir := t.TempDir()
	exp := fmt.Sprintf(`{"title": "per var file", "description": "d", "configuration": {"app": "unset", "ns": "unset"},
  "steady-state-hypothesis": {"title": "counted", "probes": [
  {"type": "probe", "name": "count", "tolerance": 2, "provider": {"type": "python", "module": "chaosk8s.pod.probes", "func": "count_pods",
   "arguments": {"label_selector": "app=${app}", "ns": "${ns}"}}}]},
  "method": [{"type": "action", "name": "noop", "provider": {"type": "process", "path": "/chaostest", "arguments": ["version"]}}]}`)
	files := map[string]string{
		"e.json":      exp,
		"shared.json": fmt.Sprintf(`{"configuration": {"ns": %q}}`, ns),
		"server.json": `{"configuration": {"app": "server"}}`,
		"none.json":   `{"configuration": {"app": "none"}}`,
	}
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	res := chaostest(t, dir, "run", "--in-cluster", "--namespace", ns, "--var-file", "shared.json",
		"--var-file-each", "server.json", "--var-file-each", "none.json", "--journal-path", "journal.json", "e.json")
	t.Log(res.stdout)
	require.Equal(t, 0, res.code, res.stderr)
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	require.Len(t, lines, 3, res.stderr)
	assert.Regexp(t, `^e\.json\+server\.json +completed \(exit code 0, .*\) journal: journal-e-server\.json$`, lines[0])
	assert.Regexp(t, `^e\.json\+none\.json +completed \(exit code 0, .*\) journal: journal-e-none\.json$`, lines[1])
	assert.Regexp(t, `^2 experiments in .*: all passed$`, lines[2])
	for file, want := range map[string]any{"journal-e-server.json": int64(2), "journal-e-none.json": int64(0)} {
		j, err := journal.Read(filepath.Join(dir, file))
		require.NoError(t, err)
		require.NotNil(t, j.SteadyStates.Before, file)
		require.Len(t, j.SteadyStates.Before.Probes, 1, file)
		assert.EqualValues(t, want, j.SteadyStates.Before.Probes[0].Output, file)
	}
	assert.Empty(t, leftovers(t, ns))
}
