package incluster

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// Labels and annotations on everything a run creates.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "chaostest"
	ComponentLabel = "app.kubernetes.io/component"
	Component      = "chaostest-run"
	// RunLabel names the run (its Job's name) on every object of the run.
	RunLabel = "chaostest.dev/run"
	// JobNamespaceAnnotation is on the objects that live outside the Job's namespace (Roles in
	// target namespaces, the cluster-wide role): where their Job is, for the sweep.
	JobNamespaceAnnotation = "chaostest.dev/job-namespace"

	// ExperimentDir is where the pod finds the ConfigMap's files.
	ExperimentDir = "/etc/chaostest"
	// WorkDir is the pod's writable directory ($HOME and $TMPDIR: the journal is written there).
	WorkDir = "/run/chaostest"
)

// Options describe one in-cluster run.
type Options struct {
	// Namespace of the Job and of the objects it owns; default "default".
	Namespace string
	// Name is a prefix of the Job's name (made unique); default "chaostest".
	Name string
	// Image is the chaostest image, PullPolicy its pull policy (default IfNotPresent).
	Image      string
	PullPolicy corev1.PullPolicy
	// Command is the pod's command line (the image's chaostest and its arguments).
	Command []string
	// Files are the ConfigMap's files, mounted in ExperimentDir (keys are file names).
	Files map[string]string
	// Env and SecretEnv are environment variables of the pod; SecretEnv travels in a Secret.
	Env, SecretEnv map[string]string
	// ServiceAccount, when set, is used as is; otherwise a service account is created and
	// bound to Permissions.
	ServiceAccount string
	Permissions    Permissions
	// APIServer "host:port" makes the pod reach the API there, on the host network (a local
	// cluster whose API listens on loopback); empty uses the kubernetes Service.
	APIServer string
	// Keep leaves every object in place (and sets no TTL).
	Keep bool
	// TTL is the Job's ttlSecondsAfterFinished (default 10 min): what cleans up when the CLI
	// is killed. Grace is the pod's termination grace period, the time its rollbacks get after
	// an interruption (default 2 min).
	TTL, Grace time.Duration
	// OwnNamespace runs the Job in a namespace of its own (named after the Job), created for
	// the run and deleted with it; Namespace is then not used.
	OwnNamespace bool
	// Log receives the run's own lines as the pod prints them; Info the CLI's progress lines.
	Log  io.Writer
	Info func(msg string)
}

// Result is the outcome of a run.
type Result struct {
	// Job is the Job's name (the run's RunLabel value).
	Job string
	// ExitCode is the exit code of the pod's chaostest; -1 when it is not known.
	ExitCode int
	// Journal holds the bytes of the journal the pod wrote; nil when it was lost.
	Journal []byte
	// JournalErr says why Journal is nil.
	JournalErr error
}

// Run creates the run's objects, starts the Job, streams the pod's lines to o.Log, brings the
// journal back and cleans up (unless o.Keep). The first value on interrupt deletes the pod with
// its grace period (the pod's chaostest takes SIGTERM as an interruption, runs its rollbacks and
// still prints its journal); the second makes Run return at once, leaving the cleanup to the
// Job's TTL and the owner references.
func Run(ctx context.Context, cs kubernetes.Interface, o Options, interrupt <-chan struct{}) (Result, error) {
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.TTL <= 0 {
		o.TTL = 10 * time.Minute
	}
	if o.Grace <= 0 {
		o.Grace = 2 * time.Minute
	}
	if o.PullPolicy == "" {
		o.PullPolicy = corev1.PullIfNotPresent
	}
	info := o.Info
	if info == nil {
		info = func(string) {}
	}
	res := Result{ExitCode: -1}
	Sweep(ctx, cs, info)
	name, err := jobName(o.Name)
	if err != nil {
		return res, err
	}
	res.Job = name
	r := &run{cs: cs, o: o, name: name, info: info}
	if o.OwnNamespace {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: r.labels()}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return res, fmt.Errorf("in-cluster run: creating namespace %s: %w", name, err)
		}
		r.ownNS = true
		r.o.Namespace = name
		o.Namespace = name
	}
	if err := r.create(ctx); err != nil {
		r.cleanup(context.WithoutCancel(ctx))
		return res, err
	}
	info(fmt.Sprintf("in-cluster run: job %s/%s started with image %s", o.Namespace, name, o.Image))
	res.ExitCode, res.Journal, res.JournalErr, err = r.follow(ctx, interrupt)
	if errors.Is(err, errAbandoned) {
		info(fmt.Sprintf("in-cluster run: not waiting for job %s/%s any longer; its TTL (%s) and owner references clean it up", o.Namespace, name, o.TTL))
		return res, err
	}
	if o.Keep {
		info(fmt.Sprintf("in-cluster run: kept job %s/%s and its objects (label %s=%s)", o.Namespace, name, RunLabel, name))
	} else if cerr := r.cleanup(context.WithoutCancel(ctx)); cerr != nil && err == nil {
		err = cerr
	}
	return res, err
}

var errAbandoned = errors.New("in-cluster run abandoned after a second interruption")

type run struct {
	cs   kubernetes.Interface
	o    Options
	name string
	info func(string)
	job  *batchv1.Job
	// ownNS: the run created its namespace (r.o.Namespace) and deletes it.
	ownNS bool
	// outside are the RBAC objects outside the Job's namespace or cluster-scoped: they cannot
	// be owned by the Job, the CLI deletes them (and Sweep after a killed CLI).
	outside []func(ctx context.Context) error
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

func jobName(prefix string) (string, error) {
	prefix = strings.Trim(nonName.ReplaceAllString(strings.ToLower(prefix), "-"), "-")
	if prefix == "" {
		prefix = "chaostest"
	}
	if len(prefix) > 40 {
		prefix = strings.TrimRight(prefix[:40], "-")
	}
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + "-" + hex.EncodeToString(b), nil
}

func (r *run) labels() map[string]string {
	return map[string]string{ManagedByLabel: ManagedBy, ComponentLabel: Component, RunLabel: r.name}
}

func (r *run) meta(name string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: name, Namespace: r.o.Namespace, Labels: r.labels()}
	if r.job != nil {
		t := true
		m.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: r.job.Name, UID: r.job.UID, BlockOwnerDeletion: &t}}
	}
	return m
}

// create makes the Job suspended (so that it can own the rest), the objects it owns, then
// resumes it.
func (r *run) create(ctx context.Context) error {
	o := r.o
	ns := o.Namespace
	sa := o.ServiceAccount
	if sa == "" {
		sa = r.name
	}
	job := r.jobSpec(sa)
	j, err := r.cs.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("in-cluster run: creating job %s/%s: %w", ns, r.name, err)
	}
	r.job = j
	if err := createExperimentObjects(ctx, r.cs, r.meta(r.name), o); err != nil {
		return fmt.Errorf("in-cluster run: %w", err)
	}
	if o.ServiceAccount == "" {
		if err := r.createRBAC(ctx, sa); err != nil {
			return err
		}
	}
	patch := []byte(`{"spec":{"suspend":false}}`)
	if _, err := r.cs.BatchV1().Jobs(ns).Patch(ctx, r.name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("in-cluster run: starting job %s/%s: %w", ns, r.name, err)
	}
	return nil
}

// createExperimentObjects creates what the pod mounts and reads, with metadata meta: a
// ConfigMap of o.Files and of o.Env (keys "env.NAME"), and a Secret of o.SecretEnv when it has
// any.
func createExperimentObjects(ctx context.Context, cs kubernetes.Interface, meta metav1.ObjectMeta, o Options) error {
	cm := &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{}}
	for k, v := range o.Files {
		cm.Data[k] = v
	}
	for k, v := range o.Env {
		cm.Data["env."+k] = v
	}
	if _, err := cs.CoreV1().ConfigMaps(meta.Namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the experiment's config map: %w", err)
	}
	if len(o.SecretEnv) > 0 {
		s := &corev1.Secret{ObjectMeta: meta, StringData: o.SecretEnv}
		if _, err := cs.CoreV1().Secrets(meta.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating the experiment's secret: %w", err)
		}
	}
	return nil
}

func (r *run) createRBAC(ctx context.Context, sa string) error {
	if _, err := r.cs.CoreV1().ServiceAccounts(r.o.Namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: r.meta(sa)}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("in-cluster run: creating service account: %w", err)
	}
	outside, err := bindPermissions(ctx, r.cs, r.o.Permissions, r.o.Namespace, r.name, r.name, sa, r.meta, r.labels())
	r.outside = append(r.outside, outside...)
	if err != nil {
		return fmt.Errorf("in-cluster run: %w", err)
	}
	return nil
}

func ignoreNotFound(errs ...error) error {
	for _, err := range errs {
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

func (r *run) jobSpec(sa string) *batchv1.Job {
	o := r.o
	zero := int32(0)
	t, f := true, false
	ttl := int32(o.TTL / time.Second)
	grace := int64(o.Grace / time.Second)
	uid := int64(65532)
	env := []corev1.EnvVar{
		{Name: "CHAOSTOOLKIT_IN_POD", Value: "true"},
		{Name: "HOME", Value: WorkDir},
		{Name: "TMPDIR", Value: WorkDir},
	}
	for _, k := range sortedKeys(o.Env) {
		env = append(env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: r.name}, Key: "env." + k}}})
	}
	for _, k := range sortedKeys(o.SecretEnv) {
		env = append(env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: r.name}, Key: k}}})
	}
	spec := corev1.PodSpec{
		RestartPolicy:                 corev1.RestartPolicyNever,
		ServiceAccountName:            sa,
		TerminationGracePeriodSeconds: &grace,
		Containers: []corev1.Container{{
			Name: "chaostest", Image: o.Image, ImagePullPolicy: o.PullPolicy,
			Command: o.Command, Env: env, WorkingDir: ExperimentDir,
			VolumeMounts: []corev1.VolumeMount{
				{Name: "experiment", MountPath: ExperimentDir, ReadOnly: true},
				{Name: "work", MountPath: WorkDir},
			},
			SecurityContext: &corev1.SecurityContext{
				RunAsUser: &uid, RunAsGroup: &uid, RunAsNonRoot: &t, ReadOnlyRootFilesystem: &t,
				AllowPrivilegeEscalation: &f, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		}},
		Volumes: []corev1.Volume{
			{Name: "experiment", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: r.name}}}},
			{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
	}
	if o.APIServer != "" {
		host, port, _ := strings.Cut(o.APIServer, ":")
		spec.HostNetwork = true
		spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
		spec.Containers[0].Env = append(spec.Containers[0].Env,
			corev1.EnvVar{Name: "KUBERNETES_SERVICE_HOST", Value: host}, corev1.EnvVar{Name: "KUBERNETES_SERVICE_PORT", Value: port})
	}
	failed := batchv1.Failed
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: r.name, Namespace: o.Namespace, Labels: r.labels()},
		Spec: batchv1.JobSpec{
			BackoffLimit:            &zero,
			Suspend:                 &t,
			PodReplacementPolicy:    &failed,
			Template:                corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: r.labels()}, Spec: spec},
			TTLSecondsAfterFinished: &ttl,
		},
	}
	if o.Keep {
		job.Spec.TTLSecondsAfterFinished = nil
	}
	return job
}

// podWaitErrors are the waiting reasons after which the pod will not start by itself.
var podWaitErrors = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "ErrImageNeverPull": true, "RunContainerError": true}

// follow waits for the pod, streams its log until the container ends (reconnecting when the
// stream breaks before), and returns the container's exit code and the journal.
func (r *run) follow(ctx context.Context, interrupt <-chan struct{}) (code int, data []byte, jerr error, err error) {
	code = -1
	var interrupted atomic.Bool
	var pod *corev1.Pod
	abandon := make(chan struct{})
	stopped := make(chan struct{})
	defer close(stopped)
	// podName is set once the pod exists; interruptions before delete the Job's pods by label.
	podName := make(chan string, 1)
	go func() {
		name := ""
		for {
			select {
			case <-stopped:
				return
			case n := <-podName:
				name = n
			case _, ok := <-interrupt:
				if !ok {
					interrupt = nil
					continue
				}
				if interrupted.Load() {
					close(abandon)
					return
				}
				interrupted.Store(true)
				r.stopPod(name)
			}
		}
	}()
	// wait for the pod to run
	err = wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		select {
		case <-abandon:
			return false, errAbandoned
		default:
		}
		pods, err := r.cs.CoreV1().Pods(r.o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + r.name})
		if err != nil || len(pods.Items) == 0 {
			if interrupted.Load() {
				return false, errors.New("in-cluster run: interrupted before the pod started")
			}
			return false, nil
		}
		p := &pods.Items[0]
		if pod == nil {
			podName <- p.Name
		}
		pod = p
		for _, s := range p.Status.ContainerStatuses {
			if s.State.Running != nil || s.State.Terminated != nil {
				return true, nil
			}
			if w := s.State.Waiting; w != nil && podWaitErrors[w.Reason] {
				return false, fmt.Errorf("in-cluster run: the pod %s cannot start: %s: %s", p.Name, w.Reason, w.Message)
			}
		}
		return p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded, nil
	})
	if err != nil {
		return code, nil, nil, err
	}
	jr := &journalReader{}
	// seen counts the log lines already handled: a stream reopened (it broke, or the container
	// ended before the kubelet sent the last lines) starts from the log's beginning and skips
	// them, which neither loses nor repeats a line (timestamps can tie).
	seen := 0
	read := func(follow bool) error {
		stream, err := r.cs.CoreV1().Pods(r.o.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "chaostest", Follow: follow}).Stream(ctx)
		if err != nil {
			return err
		}
		defer stream.Close()
		sc := bufio.NewScanner(stream)
		sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
		n := 0
		for sc.Scan() {
			if n++; n <= seen {
				continue
			}
			seen = n
			framing, ferr := jr.line(sc.Text())
			if ferr != nil {
				jerr = ferr
			}
			if !framing && r.o.Log != nil {
				fmt.Fprintln(r.o.Log, sc.Text())
			}
		}
		return sc.Err()
	}
	for attempt := 0; ; attempt++ {
		serr := read(true)
		select {
		case <-abandon:
			return code, nil, nil, errAbandoned
		default:
		}
		// the stream ended: is the container done?
		code, done := r.exitCode(ctx, pod.Name)
		if done {
			break
		}
		if ctx.Err() != nil {
			return code, nil, nil, ctx.Err()
		}
		if attempt > 1000 {
			return code, nil, nil, fmt.Errorf("in-cluster run: the log of pod %s keeps breaking: %v", pod.Name, serr)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The follow stream can end with the container before the kubelet has sent its last
	// lines: read the whole log again until the journal's framing is complete.
	for i := 0; i < 10 && !jr.done && jerr == nil && ctx.Err() == nil; i++ {
		if i > 0 {
			time.Sleep(300 * time.Millisecond)
		}
		if err := read(false); apierrors.IsNotFound(err) {
			break // the pod is gone with its log
		}
	}
	code, _ = r.exitCode(ctx, pod.Name)
	if jerr == nil {
		data, jerr = jr.journal()
	}
	return code, data, jerr, nil
}

// exitCode waits briefly for the container's terminated state once its log has ended.
func (r *run) exitCode(ctx context.Context, pod string) (int, bool) {
	code, done := -1, false
	_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := r.cs.CoreV1().Pods(r.o.Namespace).Get(ctx, pod, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			done = true // deleted (Ctrl-C deletes it): its exit code is lost, the journal says
			return true, nil
		}
		if err != nil {
			return false, nil
		}
		for _, s := range p.Status.ContainerStatuses {
			if t := s.State.Terminated; t != nil {
				code, done = int(t.ExitCode), true
				return true, nil
			}
			if s.State.Running != nil {
				return true, nil // still running: the stream broke, reopen it
			}
		}
		if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			done = true
			return true, nil
		}
		return false, nil
	})
	return code, done
}

// stopPod deletes the run's pod with its grace period: the kubelet sends the container
// SIGTERM, which the pod's chaostest handles as an interruption (rollbacks run).
func (r *run) stopPod(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	grace := int64(r.o.Grace / time.Second)
	if name == "" {
		// not started yet: suspending the Job removes the pod it may be creating
		_, _ = r.cs.BatchV1().Jobs(r.o.Namespace).Patch(ctx, r.name, types.StrategicMergePatchType, []byte(`{"spec":{"suspend":true}}`), metav1.PatchOptions{})
		return
	}
	r.info(fmt.Sprintf("in-cluster run: stopping pod %s (SIGTERM; its rollbacks run, within %s)", name, r.o.Grace))
	_ = r.cs.CoreV1().Pods(r.o.Namespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
}

// cleanup deletes the Job (foreground: its pod and the objects it owns go first) and the RBAC
// objects it cannot own, and waits until the Job is gone.
func (r *run) cleanup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var errs []error
	for _, del := range r.outside {
		if err := del(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if r.ownNS {
		defer func() {
			if err := r.deleteNamespace(ctx); err != nil {
				r.info(err.Error())
			}
		}()
	}
	if r.job == nil {
		return errors.Join(errs...)
	}
	fg := metav1.DeletePropagationForeground
	if err := r.cs.BatchV1().Jobs(r.o.Namespace).Delete(ctx, r.name, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("in-cluster run: deleting job %s/%s: %w", r.o.Namespace, r.name, err))
		return errors.Join(errs...)
	}
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := r.cs.BatchV1().Jobs(r.o.Namespace).Get(ctx, r.name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("in-cluster run: job %s/%s still present after its deletion: %w", r.o.Namespace, r.name, err))
	}
	return errors.Join(errs...)
}

// deleteNamespace deletes the run's own namespace and waits until it is gone.
func (r *run) deleteNamespace(ctx context.Context) error {
	if err := r.cs.CoreV1().Namespaces().Delete(ctx, r.o.Namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("in-cluster run: deleting namespace %s: %w", r.o.Namespace, err)
	}
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := r.cs.CoreV1().Namespaces().Get(ctx, r.o.Namespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("in-cluster run: namespace %s still present after its deletion: %w", r.o.Namespace, err)
	}
	return nil
}

// Sweep deletes what earlier runs left behind when their CLI was killed: RBAC objects outside
// their Job's namespace whose Job is gone, and Jobs still suspended (killed while being set up)
// after a minute. Objects the Job owns need no sweep: the Job's TTL and the garbage collector
// remove them. Errors are reported through info and otherwise ignored (the caller may lack the
// permission to list cluster-wide).
func Sweep(ctx context.Context, cs kubernetes.Interface, info func(string)) {
	sel := metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedBy + "," + ComponentLabel + "=" + Component}
	jobGone := func(m metav1.ObjectMeta) bool {
		ns := m.Annotations[JobNamespaceAnnotation]
		run := m.Labels[RunLabel]
		if ns == "" || run == "" {
			return false
		}
		_, err := cs.BatchV1().Jobs(ns).Get(ctx, run, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}
	_ = deleteRBAC(ctx, cs, sel, jobGone, func(kind string, m metav1.ObjectMeta) {
		switch kind {
		case "role":
			info(fmt.Sprintf("in-cluster run: removing role %s/%s left by a killed run", m.Namespace, m.Name))
		case "cluster role":
			info(fmt.Sprintf("in-cluster run: removing cluster role %s left by a killed run", m.Name))
		}
	})
	if l, err := cs.CoreV1().Namespaces().List(ctx, sel); err == nil {
		for _, n := range l.Items {
			// a run's own namespace: gone once its Job is (its TTL), or never started
			if n.DeletionTimestamp != nil || time.Since(n.CreationTimestamp.Time) < time.Minute {
				continue
			}
			if _, err := cs.BatchV1().Jobs(n.Name).Get(ctx, n.Name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				info(fmt.Sprintf("in-cluster run: removing namespace %s left by a killed run", n.Name))
				_ = cs.CoreV1().Namespaces().Delete(ctx, n.Name, metav1.DeleteOptions{})
			}
		}
	}
	if l, err := cs.BatchV1().Jobs("").List(ctx, sel); err == nil {
		fg := metav1.DeletePropagationForeground
		for _, j := range l.Items {
			if j.Spec.Suspend != nil && *j.Spec.Suspend && time.Since(j.CreationTimestamp.Time) > time.Minute {
				info(fmt.Sprintf("in-cluster run: removing job %s/%s left suspended by a killed run", j.Namespace, j.Name))
				_ = cs.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: &fg})
			}
		}
	}
}

// deleteRBAC deletes the RoleBindings, Roles, ClusterRoleBindings and ClusterRoles (in that
// order) that sel selects in every namespace and match accepts; deleting is told of each first,
// with its kind ("role binding", "role", "cluster role binding", "cluster role"). A list that
// fails is skipped (the caller may lack the permission to list cluster-wide); deletion errors
// other than not found are returned, joined.
func deleteRBAC(ctx context.Context, cs kubernetes.Interface, sel metav1.ListOptions, match func(metav1.ObjectMeta) bool,
	deleting func(kind string, m metav1.ObjectMeta)) error {
	var errs []error
	del := func(kind string, m metav1.ObjectMeta, do func() error) {
		if match(m) {
			deleting(kind, m)
			errs = append(errs, ignoreNotFound(do()))
		}
	}
	opts := metav1.DeleteOptions{}
	rbac := cs.RbacV1()
	if l, err := rbac.RoleBindings("").List(ctx, sel); err == nil {
		for _, o := range l.Items {
			del("role binding", o.ObjectMeta, func() error { return rbac.RoleBindings(o.Namespace).Delete(ctx, o.Name, opts) })
		}
	}
	if l, err := rbac.Roles("").List(ctx, sel); err == nil {
		for _, o := range l.Items {
			del("role", o.ObjectMeta, func() error { return rbac.Roles(o.Namespace).Delete(ctx, o.Name, opts) })
		}
	}
	if l, err := rbac.ClusterRoleBindings().List(ctx, sel); err == nil {
		for _, o := range l.Items {
			del("cluster role binding", o.ObjectMeta, func() error { return rbac.ClusterRoleBindings().Delete(ctx, o.Name, opts) })
		}
	}
	if l, err := rbac.ClusterRoles().List(ctx, sel); err == nil {
		for _, o := range l.Items {
			del("cluster role", o.ObjectMeta, func() error { return rbac.ClusterRoles().Delete(ctx, o.Name, opts) })
		}
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
