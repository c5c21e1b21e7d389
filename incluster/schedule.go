package incluster

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/chaostest/chaostest/journal"
)

// Labels and values of schedules and of the journals their runs keep.
const (
	// ScheduleComponent is the ComponentLabel value of a schedule's objects.
	ScheduleComponent = "chaostest-schedule"
	// JournalComponent is the ComponentLabel value of a kept journal's ConfigMap.
	JournalComponent = "chaostest-journal"
	// ScheduleLabel names the schedule on its objects and on its runs' journals.
	ScheduleLabel = "chaostest.dev/schedule"

	// Environment of a scheduled run's pod: where it keeps its journal.
	envSchedule  = "CHAOSTEST_SCHEDULE"
	envJob       = "CHAOSTEST_JOB_NAME"
	envJobUID    = "CHAOSTEST_JOB_UID"
	envNamespace = "CHAOSTEST_NAMESPACE"

	journalKey   = "journal.json"
	journalGzKey = "journal.json.gz"
	// maxPlainJournal is the largest journal kept uncompressed (a ConfigMap holds 1 MiB).
	maxPlainJournal = 512 << 10
	// maxKeptJournal is the largest compressed journal a ConfigMap takes.
	maxKeptJournal = 1000 << 10
)

// ScheduleOptions describe a schedule: a CronJob whose runs are `run --in-cluster` runs that
// keep their journals in the cluster.
type ScheduleOptions struct {
	// Options are those of the runs: Name is the schedule's name (the CronJob's and its
	// objects'), used as is; TTL and Keep are not used.
	Options
	// Cron is the CronJob's schedule ("0 3 * * *"); TimeZone its time zone (default: the
	// controller manager's).
	Cron, TimeZone string
	// History is the number of journals kept: the runs of the last History successful and
	// the last History failed Jobs (default 5). Older Jobs, and their journals, are pruned by
	// the CronJob controller.
	History int
}

// Schedule is a schedule found in the cluster.
type Schedule struct {
	Namespace, Name, Cron string
	// Suspended schedules start no runs.
	Suspended bool
	// LastSchedule is when a run was last started (zero: never).
	LastSchedule time.Time
	// Active is the number of runs in progress, History the journals kept per outcome.
	Active, History int
}

func scheduleLabels(name string) map[string]string {
	return map[string]string{ManagedByLabel: ManagedBy, ComponentLabel: ScheduleComponent, ScheduleLabel: name}
}

// CreateSchedule creates the schedule's CronJob and, owned by it, the ConfigMap of the
// experiment's files, the Secret of its secret environment, and a ServiceAccount bound to the
// experiment's Permissions plus the right to create ConfigMaps in its namespace (its runs keep
// their journals there, each owned by its Job). RBAC objects outside the namespace cannot be
// owned: DeleteSchedule removes them.
func CreateSchedule(ctx context.Context, cs kubernetes.Interface, o ScheduleOptions) error {
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.History <= 0 {
		o.History = 5
	}
	if o.PullPolicy == "" {
		o.PullPolicy = corev1.PullIfNotPresent
	}
	if o.Grace <= 0 {
		o.Grace = 2 * time.Minute
	}
	if errs := validation.IsDNS1123Label(o.Name); len(errs) > 0 || len(o.Name) > 52 {
		return fmt.Errorf("schedule name %q: a lowercase DNS label of at most 52 characters (a CronJob's name) is required", o.Name)
	}
	if o.Cron == "" {
		return errors.New("schedule: --cron is required")
	}
	r := &run{cs: cs, o: o.Options, name: o.Name, info: func(string) {}}
	sa := o.ServiceAccount
	if sa == "" {
		sa = o.Name
	}
	job := r.jobSpec(sa)
	job.Spec.Suspend = nil
	job.Spec.TTLSecondsAfterFinished = nil // the CronJob's history limits prune the runs
	tmpl := &job.Spec.Template
	tmpl.Labels = scheduleLabels(o.Name)
	c := &tmpl.Spec.Containers[0]
	c.Env = append(c.Env,
		corev1.EnvVar{Name: envSchedule, Value: o.Name},
		corev1.EnvVar{Name: envJob, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['batch.kubernetes.io/job-name']"}}},
		corev1.EnvVar{Name: envJobUID, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['batch.kubernetes.io/controller-uid']"}}},
		corev1.EnvVar{Name: envNamespace, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
	)
	hist := int32(o.History)
	suspend := true
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: scheduleLabels(o.Name)},
		Spec: batchv1.CronJobSpec{
			Schedule:                   o.Cron,
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			Suspend:                    &suspend, // until the objects it owns exist
			SuccessfulJobsHistoryLimit: &hist,
			FailedJobsHistoryLimit:     &hist,
			JobTemplate:                batchv1.JobTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: scheduleLabels(o.Name)}, Spec: job.Spec},
		},
	}
	if o.TimeZone != "" {
		cj.Spec.TimeZone = &o.TimeZone
	}
	created, err := cs.BatchV1().CronJobs(o.Namespace).Create(ctx, cj, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("schedule %s/%s: creating the cron job: %w", o.Namespace, o.Name, err)
	}
	t := true
	owned := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: scheduleLabels(o.Name),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: created.Name, UID: created.UID, BlockOwnerDeletion: &t}}}
	}
	fail := func(err error) error {
		_ = DeleteSchedule(context.WithoutCancel(ctx), cs, o.Namespace, o.Name)
		return fmt.Errorf("schedule %s/%s: %w", o.Namespace, o.Name, err)
	}
	if err := createExperimentObjects(ctx, cs, owned(o.Name), o.Options); err != nil {
		return fail(err)
	}
	if o.ServiceAccount == "" {
		if _, err := cs.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: owned(sa)}, metav1.CreateOptions{}); err != nil {
			return fail(fmt.Errorf("creating the service account: %w", err))
		}
		perms := Permissions{Namespaced: map[string][]rbacv1.PolicyRule{}, Cluster: o.Permissions.Cluster}
		for ns, rules := range o.Permissions.Namespaced {
			perms.Namespaced[ns] = rules
		}
		perms.Namespaced[o.Namespace] = merge(append(append([]rbacv1.PolicyRule{}, perms.Namespaced[o.Namespace]...), rule("", "configmaps", "create")))
		// outside objects need no deletions here: DeleteSchedule finds them by label
		if _, err := bindPermissions(ctx, cs, perms, o.Namespace, o.Name, o.Namespace+"-"+o.Name, sa, owned, scheduleLabels(o.Name)); err != nil {
			return fail(err)
		}
	}
	patch := []byte(`{"spec":{"suspend":false}}`)
	if _, err := cs.BatchV1().CronJobs(o.Namespace).Patch(ctx, o.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fail(fmt.Errorf("starting the cron job: %w", err))
	}
	return nil
}

// bindPermissions binds service account sa of namespace ns to perms: a Role and RoleBinding
// named name per namespace of perms (with owned's metadata in ns; outside ns, labelled with
// labels and annotated with ns, for the sweep) and a ClusterRole and ClusterRoleBinding named
// clusterName for its cluster rules. It returns the deletions of the objects outside ns (they
// cannot be owned), registered before each creation so that a failure midway loses none.
func bindPermissions(ctx context.Context, cs kubernetes.Interface, perms Permissions, ns, name, clusterName, sa string,
	owned func(string) metav1.ObjectMeta, labels map[string]string) (outside []func(context.Context) error, err error) {
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}}
	outsideMeta := func(namespace, n string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: n, Namespace: namespace, Labels: labels, Annotations: map[string]string{JobNamespaceAnnotation: ns}}
	}
	for _, target := range perms.Namespaces() {
		m := owned(name)
		if target != ns {
			m = outsideMeta(target, name)
			outside = append(outside, func(ctx context.Context) error {
				return ignoreNotFound(cs.RbacV1().RoleBindings(target).Delete(ctx, name, metav1.DeleteOptions{}),
					cs.RbacV1().Roles(target).Delete(ctx, name, metav1.DeleteOptions{}))
			})
		}
		m.Namespace = target
		if _, err := cs.RbacV1().Roles(target).Create(ctx, &rbacv1.Role{ObjectMeta: m, Rules: perms.Namespaced[target]}, metav1.CreateOptions{}); err != nil {
			return outside, fmt.Errorf("creating role %s/%s: %w", target, name, err)
		}
		rb := &rbacv1.RoleBinding{ObjectMeta: m, Subjects: subject, RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name}}
		if _, err := cs.RbacV1().RoleBindings(target).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			return outside, fmt.Errorf("creating role binding %s/%s: %w", target, name, err)
		}
	}
	if len(perms.Cluster) > 0 {
		m := outsideMeta("", clusterName)
		outside = append(outside, func(ctx context.Context) error {
			return ignoreNotFound(cs.RbacV1().ClusterRoleBindings().Delete(ctx, clusterName, metav1.DeleteOptions{}),
				cs.RbacV1().ClusterRoles().Delete(ctx, clusterName, metav1.DeleteOptions{}))
		})
		if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: m, Rules: perms.Cluster}, metav1.CreateOptions{}); err != nil {
			return outside, fmt.Errorf("creating cluster role %s: %w", clusterName, err)
		}
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: m, Subjects: subject, RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: clusterName}}
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
			return outside, fmt.Errorf("creating cluster role binding %s: %w", clusterName, err)
		}
	}
	return outside, nil
}

// ListSchedules returns the schedules of namespace ns ("" for all), sorted by namespace and name.
func ListSchedules(ctx context.Context, cs kubernetes.Interface, ns string) ([]Schedule, error) {
	l, err := cs.BatchV1().CronJobs(ns).List(ctx, metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedBy + "," + ComponentLabel + "=" + ScheduleComponent})
	if err != nil {
		return nil, err
	}
	out := make([]Schedule, 0, len(l.Items))
	for _, cj := range l.Items {
		s := Schedule{Namespace: cj.Namespace, Name: cj.Name, Cron: cj.Spec.Schedule, Active: len(cj.Status.Active)}
		s.Suspended = cj.Spec.Suspend != nil && *cj.Spec.Suspend
		if cj.Status.LastScheduleTime != nil {
			s.LastSchedule = cj.Status.LastScheduleTime.Time
		}
		if cj.Spec.SuccessfulJobsHistoryLimit != nil {
			s.History = int(*cj.Spec.SuccessfulJobsHistoryLimit)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// DeleteSchedule deletes the schedule's CronJob (its runs, their journals and the objects it
// owns go with it) and its RBAC objects outside its namespace, and waits until the CronJob is
// gone.
func DeleteSchedule(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	sel := metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedBy + "," + ComponentLabel + "=" + ScheduleComponent + "," + ScheduleLabel + "=" + name}
	mine := func(m metav1.ObjectMeta) bool { return m.Annotations[JobNamespaceAnnotation] == ns }
	var errs []error
	if err := deleteRBAC(ctx, cs, sel, mine, func(string, metav1.ObjectMeta) {}); err != nil {
		errs = append(errs, err)
	}
	cj, err := cs.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return errors.Join(append(errs, fmt.Errorf("schedule %s/%s: not found", ns, name))...)
	case err != nil:
		return errors.Join(append(errs, err)...)
	case cj.Labels[ComponentLabel] != ScheduleComponent:
		return fmt.Errorf("cron job %s/%s is not a chaostest schedule", ns, name)
	}
	fg := metav1.DeletePropagationForeground
	if err := cs.BatchV1().CronJobs(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil && !apierrors.IsNotFound(err) {
		return errors.Join(append(errs, err)...)
	}
	for ctx.Err() == nil {
		if _, err := cs.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return errors.Join(errs...)
		}
		time.Sleep(250 * time.Millisecond)
	}
	return errors.Join(append(errs, fmt.Errorf("schedule %s/%s: still present after its deletion", ns, name))...)
}

// TriggerSchedule starts a run of the schedule now (as `kubectl create job --from=cronjob`
// does: a Job from its template, owned by the CronJob, so it counts in its history) and
// returns the Job's name.
func TriggerSchedule(ctx context.Context, cs kubernetes.Interface, ns, name string) (string, error) {
	cj, err := cs.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("schedule %s/%s: %w", ns, name, err)
	}
	if cj.Labels[ComponentLabel] != ScheduleComponent {
		return "", fmt.Errorf("cron job %s/%s is not a chaostest schedule", ns, name)
	}
	t := true
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: name + "-manual-", Namespace: ns, Labels: cj.Spec.JobTemplate.Labels,
			Annotations:     map[string]string{"cronjob.kubernetes.io/instantiate": "manual"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: &t, BlockOwnerDeletion: &t}},
		},
		Spec: cj.Spec.JobTemplate.Spec,
	}
	j, err := cs.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("schedule %s/%s: starting a run: %w", ns, name, err)
	}
	return j.Name, nil
}

// KeptJournal is a journal a scheduled run kept in the cluster.
type KeptJournal struct {
	// Namespace and Name of its ConfigMap (Name is the run's Job's name).
	Namespace, Name string
	// Schedule is the schedule that started the run.
	Schedule string
	// Status, Deviated, Start and Duration are the journal's.
	Status   string
	Deviated bool
	Start    time.Time
	Duration float64
}

// KeepJournal is what a scheduled run's pod does at its end: it keeps the journal in a
// ConfigMap named after its Job, owned by the Job (pruned with it), labelled with the schedule.
// It does nothing (and returns false) in a pod that is not a scheduled run's.
func KeepJournal(ctx context.Context, cs kubernetes.Interface, data []byte) (bool, error) {
	schedule, job, uid, ns := os.Getenv(envSchedule), os.Getenv(envJob), os.Getenv(envJobUID), os.Getenv(envNamespace)
	if schedule == "" {
		return false, nil
	}
	if job == "" || uid == "" || ns == "" {
		return true, fmt.Errorf("keeping the journal: the pod lacks %s, %s or %s", envJob, envJobUID, envNamespace)
	}
	t := true
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: job, Namespace: ns,
		Labels:          map[string]string{ManagedByLabel: ManagedBy, ComponentLabel: JournalComponent, ScheduleLabel: schedule},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job, UID: types.UID(uid), BlockOwnerDeletion: &t}},
	}}
	if j, err := journal.Parse(data); err == nil {
		cm.Annotations = map[string]string{
			"chaostest.dev/status":   j.Status,
			"chaostest.dev/deviated": strconv.FormatBool(j.Deviated),
			"chaostest.dev/start":    j.Start,
			"chaostest.dev/duration": strconv.FormatFloat(j.Duration, 'f', 3, 64),
		}
	}
	if len(data) <= maxPlainJournal {
		cm.Data = map[string]string{journalKey: string(data)}
	} else {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write(data)
		_ = zw.Close()
		if gz.Len() > maxKeptJournal {
			return true, fmt.Errorf("keeping the journal: %d bytes compressed, more than a ConfigMap holds (%d); the log has it whole", gz.Len(), maxKeptJournal)
		}
		cm.BinaryData = map[string][]byte{journalGzKey: gz.Bytes()}
	}
	_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		return true, fmt.Errorf("keeping the journal in config map %s/%s: %w", ns, job, err)
	}
	return true, nil
}

// ListJournals returns the kept journals of namespace ns ("" for all) and schedule ("" for
// every schedule), oldest first.
func ListJournals(ctx context.Context, cs kubernetes.Interface, ns, schedule string) ([]KeptJournal, error) {
	sel := ManagedByLabel + "=" + ManagedBy + "," + ComponentLabel + "=" + JournalComponent
	if schedule != "" {
		sel += "," + ScheduleLabel + "=" + schedule
	}
	l, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	out := make([]KeptJournal, 0, len(l.Items))
	for _, cm := range l.Items {
		k := KeptJournal{Namespace: cm.Namespace, Name: cm.Name, Schedule: cm.Labels[ScheduleLabel],
			Status: cm.Annotations["chaostest.dev/status"], Deviated: cm.Annotations["chaostest.dev/deviated"] == "true"}
		k.Start, _ = journal.ParseTime(cm.Annotations["chaostest.dev/start"])
		if k.Start.IsZero() {
			k.Start = cm.CreationTimestamp.Time
		}
		k.Duration, _ = strconv.ParseFloat(cm.Annotations["chaostest.dev/duration"], 64)
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// GetJournal returns the bytes of the kept journal name in namespace ns.
func GetJournal(ctx context.Context, cs kubernetes.Interface, ns, name string) ([]byte, error) {
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("journal %s/%s: %w", ns, name, err)
	}
	if cm.Labels[ComponentLabel] != JournalComponent {
		return nil, fmt.Errorf("config map %s/%s is not a kept chaostest journal", ns, name)
	}
	if s, ok := cm.Data[journalKey]; ok {
		return []byte(s), nil
	}
	if b, ok := cm.BinaryData[journalGzKey]; ok {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("journal %s/%s: %w", ns, name, err)
		}
		return io.ReadAll(io.LimitReader(zr, 256<<20))
	}
	return nil, fmt.Errorf("journal %s/%s: the config map holds no %s", ns, name, journalKey)
}
