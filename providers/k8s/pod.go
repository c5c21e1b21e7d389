package k8s

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"

	"github.com/chaostest/chaostest/provider"
)

// TerminatePodsArgs are the arguments of chaosk8s.pod.actions.terminate_pods.
type TerminatePodsArgs struct {
	LabelSelector string `arg:"label_selector" default:"null"`
	NamePattern   string `arg:"name_pattern" default:"null"`
	All           bool   `arg:"all" default:"false"`
	Rand          bool   `arg:"rand" default:"false"`
	Mode          string `arg:"mode" default:"\"fixed\""`
	Qty           int    `arg:"qty" default:"1"`
	GracePeriod   int    `arg:"grace_period" default:"-1"`
	NS            string `arg:"ns" default:"\"default\""`
	Order         string `arg:"order" default:"\"alphabetic\""`
}

// ExecInPodsArgs are the arguments of chaosk8s.pod.actions.exec_in_pods.
type ExecInPodsArgs struct {
	Cmd            any    `arg:"cmd"`
	LabelSelector  string `arg:"label_selector" default:"null"`
	NamePattern    string `arg:"name_pattern" default:"null"`
	All            bool   `arg:"all" default:"false"`
	Rand           bool   `arg:"rand" default:"false"`
	Mode           string `arg:"mode" default:"\"fixed\""`
	Qty            int    `arg:"qty" default:"1"`
	NS             string `arg:"ns" default:"\"default\""`
	Order          string `arg:"order" default:"\"alphabetic\""`
	ContainerName  string `arg:"container_name" default:"null"`
	RequestTimeout int    `arg:"request_timeout" default:"60"`
}

type deletePodsArgs struct {
	Name          string `arg:"name" default:"null"`
	NS            string `arg:"ns" default:"\"default\""`
	LabelSelector string `arg:"label_selector" default:"null"`
}

type readPodLogsArgs struct {
	Name          string `arg:"name" default:"null"`
	Last          any    `arg:"last" default:"null"`
	NS            string `arg:"ns" default:"\"default\""`
	FromPrevious  bool   `arg:"from_previous" default:"false"`
	LabelSelector string `arg:"label_selector" default:"\"name in ({name})\""`
	ContainerName string `arg:"container_name" default:"null"`
}

type podsInPhaseArgs struct {
	LabelSelector string `arg:"label_selector"`
	Phase         string `arg:"phase" default:"\"Running\""`
	NS            string `arg:"ns" default:"\"default\""`
	Raise         bool   `arg:"raise_on_invalid_phase" default:"true"`
}

type podsNotInPhaseArgs struct {
	LabelSelector string `arg:"label_selector"`
	Phase         string `arg:"phase" default:"\"Running\""`
	NS            string `arg:"ns" default:"\"default\""`
	Raise         bool   `arg:"raise_on_in_phase" default:"true"`
}

type podsInConditionsArgs struct {
	LabelSelector string              `arg:"label_selector"`
	Conditions    []map[string]string `arg:"conditions"`
	NS            string              `arg:"ns" default:"\"default\""`
	Raise         bool                `arg:"raise_on_invalid_conditions" default:"true"`
}

type countPodsArgs struct {
	LabelSelector string `arg:"label_selector"`
	Phase         string `arg:"phase" default:"null"`
	NS            string `arg:"ns" default:"\"default\""`
}

type countMinPodsArgs struct {
	LabelSelector string `arg:"label_selector"`
	Phase         string `arg:"phase" default:"\"Running\""`
	MinCount      int    `arg:"min_count" default:"2"`
	NS            string `arg:"ns" default:"\"default\""`
}

type podIsNotAvailableArgs struct {
	Name          string `arg:"name"`
	NS            string `arg:"ns" default:"\"default\""`
	LabelSelector string `arg:"label_selector" default:"\"name in ({name})\""`
	Raise         bool   `arg:"raise_on_is_available" default:"true"`
}

type shouldBeFoundInLogsArgs struct {
	Pattern       string            `arg:"pattern"`
	AllContainers bool              `arg:"all_containers" default:"true"`
	Value         map[string]string `arg:"value" default:"null"`
}

type allPodsHealthyArgs struct {
	NS    string `arg:"ns" default:"\"default\""`
	Raise bool   `arg:"raise_on_any_unhealthy" default:"true"`
}

func init() {
	register("chaosk8s.pod.actions.terminate_pods", "Terminate pods selected by label and/or name pattern; returns the deleted pod names.", terminatePods)
	register("chaosk8s.pod.actions.exec_in_pods", "Run a command in the named container of the selected pods.", execInPods)
	register("chaosk8s.pod.actions.delete_pods", "Deprecated: terminate_pods with name_pattern=name.", func(ctx context.Context, c *Client, env provider.Env, a deletePodsArgs) (any, error) {
		return terminatePods(ctx, c, env, TerminatePodsArgs{NamePattern: a.Name, LabelSelector: a.LabelSelector, NS: a.NS, Mode: "fixed", Qty: 1, GracePeriod: -1, Order: "alphabetic"})
	})
	register("chaosk8s.pod.probes.read_pod_logs", "Read the logs of the selected pods: {pod_name: logs with timestamps}.", readPodLogs)
	register("chaosk8s.pod.probes.pods_in_phase", "True when pods match the selector and all are in the phase.", podsInPhase)
	register("chaosk8s.pod.probes.pods_not_in_phase", "True when pods match the selector and none is in the phase.", podsNotInPhase)
	register("chaosk8s.pod.probes.pods_in_conditions", "True when every matching pod has all the given conditions.", podsInConditions)
	register("chaosk8s.pod.probes.count_pods", "Count the pods matching the selector (in the phase, if given).", countPods)
	register("chaosk8s.pod.probes.count_min_pods", "True when at least min_count pods match in the phase.", countMinPods)
	register("chaosk8s.pod.probes.pod_is_not_available", "True when no pod of the selector is Running.", podIsNotAvailable)
	register("chaosk8s.pod.probes.should_be_found_in_logs", "Search a pattern in the output of read_pod_logs (passed as value).", shouldBeFoundInLogs)
	register("chaosk8s.pod.probes.all_pods_healthy", "True when every pod of the namespace is Running or Succeeded.", allPodsHealthy)
}

func (c *Client) listPods(ctx context.Context, ns, selector string) ([]corev1.Pod, error) {
	l, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing pods '%s' in ns '%s': %s", selector, ns, apiError(err))
	}
	return l.Items, nil
}

func (c *Client) selectPods(ctx context.Context, env provider.Env, s podSelection, ns string) ([]corev1.Pod, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := s.checkNotEverything(ns); err != nil {
		return nil, err
	}
	if err := c.checkNamespace(env, ns); err != nil {
		return nil, err
	}
	pods, err := c.listPods(ctx, ns, s.LabelSelector)
	if err != nil {
		return nil, err
	}
	return s.pick(pods, nil)
}

func terminatePods(ctx context.Context, c *Client, env provider.Env, a TerminatePodsArgs) (any, error) {
	s := podSelection{LabelSelector: a.LabelSelector, NamePattern: a.NamePattern, All: a.All, Rand: a.Rand, Mode: a.Mode, Qty: a.Qty, Order: a.Order}
	pods, err := c.selectPods(ctx, env, s, a.NS)
	if err != nil {
		return nil, err
	}
	opts := metav1.DeleteOptions{}
	if a.GracePeriod >= 0 {
		g := int64(a.GracePeriod)
		opts.GracePeriodSeconds = &g
	}
	deleted := []any{}
	for _, p := range pods {
		if err := c.cs.CoreV1().Pods(a.NS).Delete(ctx, p.Name, opts); err != nil {
			return nil, fmt.Errorf("failed to delete pod '%s' in ns '%s': %s", p.Name, a.NS, apiError(err))
		}
		deleted = append(deleted, p.Name)
	}
	logf(env, "terminated %d pod(s) in ns '%s': %s", len(deleted), a.NS, joinAny(deleted))
	return deleted, nil
}

func joinAny(l []any) string {
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}

// commandArgs turns exec_in_pods's cmd (a string split like shlex.split, or a list) into argv.
func commandArgs(cmd any) ([]string, error) {
	switch v := cmd.(type) {
	case string:
		return shlexSplit(v)
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			out[i] = fmt.Sprint(e)
		}
		return out, nil
	case []string:
		return v, nil
	}
	return nil, fmt.Errorf("cmd must be a string or a list of strings, not %T", cmd)
}

func isEmptyCmd(cmd any) bool {
	switch v := cmd.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case []string:
		return len(v) == 0
	}
	return false
}

func execInPods(ctx context.Context, c *Client, env provider.Env, a ExecInPodsArgs) (any, error) {
	if isEmptyCmd(a.Cmd) {
		return nil, errors.New("A command must be set to run a container")
	}
	s := podSelection{LabelSelector: a.LabelSelector, NamePattern: a.NamePattern, All: a.All, Rand: a.Rand, Mode: a.Mode, Qty: a.Qty, Order: a.Order}
	pods, err := c.selectPods(ctx, env, s, a.NS)
	if err != nil {
		return nil, err
	}
	argv, err := commandArgs(a.Cmd)
	if err != nil {
		return nil, err
	}
	results := []any{}
	for _, p := range pods {
		found := false
		for _, ct := range p.Spec.Containers {
			if ct.Name == a.ContainerName {
				found = true
			}
		}
		if !found {
			logf(env, "pod '%s' has no container named '%s': skipped", p.Name, a.ContainerName)
			continue
		}
		code, stdout, msg, err := c.exec(ctx, a.NS, p.Name, a.ContainerName, argv, time.Duration(a.RequestTimeout)*time.Second)
		if err != nil {
			return nil, fmt.Errorf("exec in pod '%s': %v", p.Name, err)
		}
		results = append(results, map[string]any{
			"pod_name":  p.Name,
			"exit_code": code,
			"cmd":       a.Cmd,
			"stdout":    stdout,
			"stderr":    msg,
		})
	}
	return results, nil
}

// exec runs argv in a container. Like chaosk8s it reports exit code 0 (an int) on success and,
// on a non-zero exit, the code as the string the API's status cause carries, with the status
// message as stderr.
func (c *Client) exec(ctx context.Context, ns, pod, container string, argv []string, timeout time.Duration) (code any, stdout, msg string, err error) {
	if c.cfg == nil {
		return nil, "", "", errors.New("exec needs a client built from a REST configuration")
	}
	req := c.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: argv, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(c.cfg, http.MethodGet, req.URL().String())
	if err != nil {
		return nil, "", "", err
	}
	spdy, err := remotecommand.NewSPDYExecutor(c.cfg, http.MethodPost, req.URL())
	if err != nil {
		return nil, "", "", err
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return nil, "", "", err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var out, errb bytes.Buffer
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errb})
	var ce exec.CodeExitError
	switch {
	case err == nil:
		return int64(0), out.String(), "", nil
	case errors.As(err, &ce):
		m := strings.TrimPrefix(ce.Err.Error(), "command terminated with non-zero exit code: ")
		return strconv.Itoa(ce.Code), out.String(), m, nil
	}
	return nil, out.String(), "", err
}

func readPodLogs(ctx context.Context, c *Client, env provider.Env, a readPodLogsArgs) (any, error) {
	selector := formatName(a.LabelSelector, a.Name)
	pods, err := c.listPods(ctx, a.NS, selector)
	if err != nil {
		return nil, err
	}
	opts := &corev1.PodLogOptions{Previous: a.FromPrevious, Timestamps: true, Container: a.ContainerName}
	if a.Last != nil && a.Last != "" {
		var d time.Duration
		switch v := a.Last.(type) {
		case string:
			if d, err = parseLast(v); err != nil {
				return nil, err
			}
		case float64:
			d = time.Duration(v * float64(time.Second))
		default:
			return nil, fmt.Errorf("last must be a time span such as \"20s\" or \"10 minutes\", not %T", a.Last)
		}
		if since := int64(d / time.Second); since > 0 {
			opts.SinceSeconds = &since
		}
	}
	logs := map[string]any{}
	for _, p := range pods {
		b, err := doRaw(ctx, c.cs.CoreV1().Pods(a.NS).GetLogs(p.Name, opts))
		if err != nil {
			return nil, fmt.Errorf("reading the logs of pod '%s': %s", p.Name, apiError(err))
		}
		logs[p.Name] = string(b)
	}
	return logs, nil
}

// failOrFalse is the raise_on_* pattern: an error when raise, false otherwise.
func failOrFalse(raise bool, format string, args ...any) (any, error) {
	if raise {
		return nil, fmt.Errorf(format, args...)
	}
	return false, nil
}

func podsInPhase(ctx context.Context, c *Client, env provider.Env, a podsInPhaseArgs) (any, error) {
	pods, err := c.listPods(ctx, a.NS, a.LabelSelector)
	if err != nil {
		return nil, err
	}
	if len(pods) == 0 {
		return failOrFalse(a.Raise, "no pods '%s' were found", pyStr(a.LabelSelector))
	}
	for _, p := range pods {
		if string(p.Status.Phase) != a.Phase {
			return failOrFalse(a.Raise, "pod '%s' is in phase '%s' but should be '%s'", pyStr(a.LabelSelector), p.Status.Phase, a.Phase)
		}
	}
	return true, nil
}

func podsNotInPhase(ctx context.Context, c *Client, env provider.Env, a podsNotInPhaseArgs) (any, error) {
	pods, err := c.listPods(ctx, a.NS, a.LabelSelector)
	if err != nil {
		return nil, err
	}
	if len(pods) == 0 {
		return failOrFalse(a.Raise, "no pods '%s' were found", pyStr(a.LabelSelector))
	}
	for _, p := range pods {
		if string(p.Status.Phase) == a.Phase {
			return failOrFalse(a.Raise, "pod '%s' should not be in phase '%s'", pyStr(a.LabelSelector), p.Status.Phase)
		}
	}
	return true, nil
}

// pyDict renders a string map as Python's str() of a dict, keys in the given order.
func pyDict(m map[string]string, keys []string) string {
	parts := make([]string, 0, len(m))
	seen := map[string]bool{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("'%s': '%s'", k, v))
			seen[k] = true
		}
	}
	for k, v := range m {
		if !seen[k] {
			parts = append(parts, fmt.Sprintf("'%s': '%s'", k, v))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func podsInConditions(ctx context.Context, c *Client, env provider.Env, a podsInConditionsArgs) (any, error) {
	pods, err := c.listPods(ctx, a.NS, a.LabelSelector)
	if err != nil {
		return nil, err
	}
	if len(pods) == 0 {
		return failOrFalse(a.Raise, "no pods '%s' were found", pyStr(a.LabelSelector))
	}
	for _, p := range pods {
		for _, want := range a.Conditions {
			found := false
			for _, pc := range p.Status.Conditions {
				if len(want) == 2 && want["type"] == string(pc.Type) && want["status"] == string(pc.Status) {
					found = true
				}
			}
			if !found {
				return failOrFalse(a.Raise, "pod %s does not match the following given condition: %s", p.Name, pyDict(want, []string{"type", "status"}))
			}
		}
	}
	return true, nil
}

func countPodsIn(ctx context.Context, c *Client, selector, phase, ns string) (int64, error) {
	pods, err := c.listPods(ctx, ns, selector)
	if err != nil {
		return 0, err
	}
	if phase == "" {
		return int64(len(pods)), nil
	}
	var n int64
	for _, p := range pods {
		if string(p.Status.Phase) == phase {
			n++
		}
	}
	return n, nil
}

func countPods(ctx context.Context, c *Client, env provider.Env, a countPodsArgs) (any, error) {
	return countPodsIn(ctx, c, a.LabelSelector, a.Phase, a.NS)
}

func countMinPods(ctx context.Context, c *Client, env provider.Env, a countMinPodsArgs) (any, error) {
	n, err := countPodsIn(ctx, c, a.LabelSelector, a.Phase, a.NS)
	if err != nil {
		return nil, err
	}
	return n >= int64(a.MinCount), nil
}

func podIsNotAvailable(ctx context.Context, c *Client, env provider.Env, a podIsNotAvailableArgs) (any, error) {
	pods, err := c.listPods(ctx, a.NS, formatName(a.LabelSelector, a.Name))
	if err != nil {
		return nil, err
	}
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning {
			return failOrFalse(a.Raise, "pod '%s' is actually running", pyStr(a.Name))
		}
	}
	return true, nil
}

func shouldBeFoundInLogs(ctx context.Context, c *Client, env provider.Env, a shouldBeFoundInLogsArgs) (any, error) {
	return matchLogs(a.Pattern, a.AllContainers, a.Value)
}

// matchLogs is should_be_found_in_logs: true when the pattern is found in every log (or, with
// allContainers false, in at least one).
func matchLogs(pattern string, allContainers bool, value map[string]string) (any, error) {
	if len(value) == 0 {
		return nil, errors.New("no logs to search from")
	}
	re, err := compilePattern(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid pattern %q: %v", pattern, err)
	}
	matched := 0
	for _, logs := range value {
		if re.Search(logs) {
			matched++
		}
	}
	if allContainers && matched != len(value) {
		return false, nil
	}
	return matched > 0, nil
}

func allPodsHealthy(ctx context.Context, c *Client, env provider.Env, a allPodsHealthyArgs) (any, error) {
	pods, err := c.listPods(ctx, a.NS, "")
	if err != nil {
		return nil, err
	}
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodSucceeded {
			return failOrFalse(a.Raise, "the system is unhealthy")
		}
	}
	return true, nil
}
