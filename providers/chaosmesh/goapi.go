package chaosmesh

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/k8s"
)

// Option sets an argument of the function an activity calls, or a setting of the call.
type Option func(*call)

type call struct {
	args  map[string]any
	lease time.Duration
}

// Arg sets the argument name to v.
func Arg(name string, v any) Option { return func(c *call) { c.args[name] = v } }

// In sets the namespace of the NetworkChaos object (ns; default "default"); the pods are
// selected there unless Namespaces says otherwise.
func In(ns string) Option { return Arg("ns", ns) }

// Labels selects the pods by labels, "key=value,key2=value2" (label_selectors).
func Labels(sel string) Option { return Arg("label_selectors", sel) }

// Annotations selects the pods by annotations, "key=value,..." (annotations_selectors).
func Annotations(sel string) Option { return Arg("annotations_selectors", sel) }

// Namespaces selects the pods in these namespaces (namespaces_selectors).
func Namespaces(ns ...string) Option { return Arg("namespaces_selectors", strings.Join(ns, ",")) }

// All takes every matching pod (mode "all"; the default is one random pod).
func All() Option { return Arg("mode", "all") }

// Fixed takes n random matching pods (mode "fixed").
func Fixed(n int) Option {
	return func(c *call) { c.args["mode"], c.args["mode_value"] = "fixed", strconv.Itoa(n) }
}

// FixedPercent takes p % of the matching pods, rounded down (mode "fixed-percent").
func FixedPercent(p int) Option {
	return func(c *call) { c.args["mode"], c.args["mode_value"] = "fixed-percent", strconv.Itoa(p) }
}

// RandomMaxPercent takes a random share, up to p %, of the matching pods (mode
// "random-max-percent").
func RandomMaxPercent(p int) Option {
	return func(c *call) { c.args["mode"], c.args["mode_value"] = "random-max-percent", strconv.Itoa(p) }
}

// Direction is "to" (what the pods send; the default), "from" (what they receive) or "both".
func Direction(d string) Option { return Arg("direction", d) }

// Target restricts the fault to the traffic with the pods matching labels ("key=value,...",
// in the object's namespace unless TargetNamespaces says otherwise), all of them unless
// another target_mode is set with Arg. Without Target or ExternalTargets the Go API affects
// all the selected pods' traffic in the direction (an experiment file's default, as in
// chaosk8s, is one random pod of the namespace as target).
func Target(labels string) Option {
	return func(c *call) { c.args["target_mode"], c.args["target_label_selectors"] = "all", labels }
}

// TargetNamespaces sets the namespaces of the target pods.
func TargetNamespaces(ns ...string) Option {
	return Arg("target_namespaces_selectors", strings.Join(ns, ","))
}

// ExternalTargets restricts the fault to the traffic with these IPv4 addresses or CIDRs.
func ExternalTargets(cidrs ...string) Option {
	return Arg("external_targets", strings.Join(cidrs, ","))
}

// Jitter spreads a latency uniformly over latency ± d, as tc netem does (jitter).
func Jitter(d time.Duration) Option { return Arg("jitter", d.String()) }

// Correlation makes each packet's jitter depend on the previous one's by p percent
// (correlation).
func Correlation(p float64) Option { return Arg("correlation", strconv.FormatFloat(p, 'f', -1, 64)) }

// Lease sets the lease of the fault (on a cluster served by chaostest's agent): this process
// renews it every third of d; if the process dies, the agent removes the fault at most d after
// the last renewal. Default DefaultLease.
func Lease(d time.Duration) Option { return func(c *call) { c.lease = d } }

// activity builds the activity calling the registered function name with kube.
func activity(kube *k8s.Client, name string, args map[string]any, opts []Option) *chaostest.Activity {
	c := &call{args: args}
	for _, o := range opts {
		o(c)
	}
	f, ok := provider.LookupFunc(name)
	return chaostest.Python(name, c.args).RunFunc(func(ctx context.Context, env provider.Env) (any, error) {
		if !ok {
			return nil, fmt.Errorf("no provider is registered under %q", name)
		}
		return f.Call(context.WithValue(ctx, ctxKey{}, &settings{client: kube, lease: c.lease}), env, c.args)
	})
}

// SetLoss is chaosk8s.chaosmesh.network.actions.set_loss: a NetworkChaos named name dropping
// percent % of the selected pods' packets. Select the pods with Labels (required), In,
// Namespaces, All/Fixed/FixedPercent/RandomMaxPercent; narrow the traffic with Direction,
// Target, ExternalTargets. Its rollback is DeleteNetworkFault(kube, name).
//
//	ct.Action("lossy-server", chaosmesh.SetLoss(kube, "lossy", 30, chaosmesh.In(ns), chaosmesh.Labels("app=server")))
//	ct.Rollback(chaosmesh.DeleteNetworkFault(kube, "lossy", chaosmesh.In(ns)))
func SetLoss(kube *k8s.Client, name string, percent float64, opts ...Option) *chaostest.Activity {
	args := map[string]any{"name": name, "loss": strconv.FormatFloat(percent, 'f', -1, 64), "target_mode": nil}
	return activity(kube, module+"actions.set_loss", args, opts)
}

// AddLatency is chaosk8s.chaosmesh.network.actions.add_latency: a NetworkChaos named name
// (action delay) that delays the selected pods' packets by latency, optionally with Jitter and
// Correlation. Select and narrow as for SetLoss; the rollback is DeleteNetworkFault(kube, name).
//
//	ct.Action("slow-greeter", chaosmesh.AddLatency(kube, "slow", 2*time.Second, chaosmesh.In(ns), chaosmesh.Labels("app=greeter"), chaosmesh.All()))
//	ct.Rollback(chaosmesh.DeleteNetworkFault(kube, "slow", chaosmesh.In(ns)))
func AddLatency(kube *k8s.Client, name string, latency time.Duration, opts ...Option) *chaostest.Activity {
	args := map[string]any{"name": name, "latency": latency.String(), "target_mode": nil}
	return activity(kube, module+"actions.add_latency", args, opts)
}

// SetBandwidth is chaosk8s.chaosmesh.network.actions.set_bandwidth: a NetworkChaos named name
// (action bandwidth) that limits what the selected pods send to rate, a tc rate such as
// "1mbps" (bytes per second) or "8mbit" (bits), through a token bucket of buffer bytes with at
// most limit bytes queued. Select as for SetLoss; the rollback is DeleteNetworkFault(kube, name).
//
//	ct.Action("thin-pipe", chaosmesh.SetBandwidth(kube, "thin", "1mbps", 20<<20, 10000, chaosmesh.In(ns), chaosmesh.Labels("app=server")))
//	ct.Rollback(chaosmesh.DeleteNetworkFault(kube, "thin", chaosmesh.In(ns)))
func SetBandwidth(kube *k8s.Client, name, rate string, limit, buffer int, opts ...Option) *chaostest.Activity {
	args := map[string]any{"name": name, "rate": rate, "limit": limit, "buffer": buffer, "target_mode": nil}
	return activity(kube, module+"actions.set_bandwidth", args, opts)
}

// Partition creates a NetworkChaos with action partition: the selected pods' traffic in the
// direction (to the Target / ExternalTargets only, when given) is dropped. chaosk8s has no such
// function; in the journal it reads as chaostest.chaosmesh.network.actions.partition. Its
// rollback is DeleteNetworkFault(kube, name).
func Partition(kube *k8s.Client, name string, opts ...Option) *chaostest.Activity {
	args := map[string]any{"name": name, "target_mode": nil}
	return activity(kube, "chaostest.chaosmesh.network.actions.partition", args, opts)
}

// DeleteNetworkFault is chaosk8s.chaosmesh.network.actions.delete_network_fault: it deletes the
// NetworkChaos name (In sets its namespace), which removes the fault.
func DeleteNetworkFault(kube *k8s.Client, name string, opts ...Option) *chaostest.Activity {
	return activity(kube, module+"actions.delete_network_fault", map[string]any{"name": name}, opts)
}

// GetNetworkFault is chaosk8s.chaosmesh.network.probes.get_network_fault: the object, status
// included.
func GetNetworkFault(kube *k8s.Client, name string, opts ...Option) *chaostest.Activity {
	return activity(kube, module+"probes.get_network_fault", map[string]any{"name": name}, opts)
}

// GetNetworkFaults is chaosk8s.chaosmesh.network.probes.get_network_faults: the objects of the
// namespace (In).
func GetNetworkFaults(kube *k8s.Client, opts ...Option) *chaostest.Activity {
	return activity(kube, module+"probes.get_network_faults", map[string]any{}, opts)
}
