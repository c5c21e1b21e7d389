package incluster

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/chaostest/chaostest/jsonvalue"
)

// A need is what one provider function asks of the API: rules in the namespace named by its
// namespace argument, and rules that are cluster-wide (cluster-scoped resources, or lists
// across every namespace).
type need struct {
	ns      []rbacv1.PolicyRule // in the namespace of the "ns" argument (default "default")
	cluster []rbacv1.PolicyRule
	// custom: the resource is named by the group and plural arguments (chaosk8s.crd);
	// customVerbs are the verbs, customCluster says the object is cluster-scoped.
	customVerbs   []string
	customCluster bool
	// why, when set, says the function's needs cannot be derived from its arguments.
	why string
}

func rule(group, resource string, verbs ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: verbs}
}

var (
	podsRead     = rule("", "pods", "list")
	podsDelete   = rule("", "pods", "list", "delete")
	podsWatch    = rule("", "pods", "list", "watch")
	podLogs      = rule("", "pods/log", "get")
	podExec      = rule("", "pods/exec", "create", "get")
	nodesRead    = rule("", "nodes", "list")
	nodesPatch   = rule("", "nodes", "list", "patch")
	nsCreate     = rule("", "namespaces", "create")
	nsDelete     = rule("", "namespaces", "delete")
	nsList       = rule("", "namespaces", "list")
	eventsList   = rule("events.k8s.io", "events", "list")
	evictions    = rule("", "pods/eviction", "create")
	chaosCRDRead = rbacv1.PolicyRule{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, ResourceNames: []string{"networkchaos.chaos-mesh.org"}, Verbs: []string{"get"}}
)

// stressCRDRead lets the stress functions see whether chaostest's agent serves StressChaos.
var stressCRDRead = rbacv1.PolicyRule{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, ResourceNames: []string{"stresschaos.chaos-mesh.org"}, Verbs: []string{"get"}}

// workload gives the needs of the create / delete / patch / read / wait functions of one
// workload resource.
func workload(group, resource string) (create, del, patch, read, wait need) {
	return need{ns: []rbacv1.PolicyRule{rule(group, resource, "create")}},
		need{ns: []rbacv1.PolicyRule{rule(group, resource, "list", "delete")}},
		need{ns: []rbacv1.PolicyRule{rule(group, resource, "patch")}},
		need{ns: []rbacv1.PolicyRule{rule(group, resource, "list")}},
		need{ns: []rbacv1.PolicyRule{rule(group, resource, "list", "watch")}}
}

// table maps each provider function (its Chaos Toolkit module.func name) to what it asks of
// the Kubernetes API, read from its implementation in providers/k8s and providers/chaosmesh.
// A function that is not here and is not an http or process provider makes the derivation fail:
// run it with --service-account then.
var table = func() map[string]need {
	ns := func(rules ...rbacv1.PolicyRule) need { return need{ns: rules} }
	cl := func(rules ...rbacv1.PolicyRule) need { return need{cluster: rules} }
	t := map[string]need{}
	set := func(n need, names ...string) {
		for _, name := range names {
			t[name] = n
		}
	}
	const k = "chaosk8s."
	// pods
	set(ns(podsDelete), k+"pod.actions.terminate_pods", k+"pod.actions.delete_pods")
	set(ns(podsRead, podExec), k+"pod.actions.exec_in_pods")
	set(ns(podsRead, podLogs), k+"pod.probes.read_pod_logs", k+"probes.read_microservices_logs")
	set(ns(podsRead), k+"pod.probes.pods_in_phase", k+"pod.probes.pods_not_in_phase", k+"pod.probes.pods_in_conditions",
		k+"pod.probes.count_pods", k+"pod.probes.count_min_pods", k+"pod.probes.pod_is_not_available",
		k+"pod.probes.all_pods_healthy", k+"probes.all_microservices_healthy", k+"probes.microservice_is_not_available")
	set(need{}, k+"pod.probes.should_be_found_in_logs")
	// apps
	c, d, p, r, w := workload("apps", "deployments")
	set(c, k+"deployment.actions.create_deployment", k+"actions.start_microservice")
	set(d, k+"deployment.actions.delete_deployment")
	set(p, k+"deployment.actions.scale_deployment", k+"deployment.actions.rollout_deployment", k+"actions.scale_microservice")
	set(r, k+"deployment.probes.deployment_available_and_healthy", k+"deployment.probes.deployment_partially_available", k+"probes.microservice_available_and_healthy")
	set(w, k+"deployment.probes.deployment_fully_available", k+"deployment.probes.deployment_not_fully_available",
		k+"probes.deployment_is_fully_available", k+"probes.deployment_is_not_fully_available")
	set(ns(rule("apps", "deployments", "list", "delete"), rule("apps", "replicasets", "list", "delete"), podsDelete), k+"actions.kill_microservice")
	c, d, p, _, w = workload("apps", "statefulsets")
	set(c, k+"statefulset.actions.create_statefulset")
	set(d, k+"statefulset.actions.remove_statefulset")
	set(p, k+"statefulset.actions.scale_statefulset")
	set(w, k+"statefulset.probes.statefulset_fully_available", k+"statefulset.probes.statefulset_not_fully_available")
	c, d, p, r, w = workload("apps", "daemonsets")
	set(c, k+"daemonset.actions.create_daemon_set")
	set(d, k+"daemonset.actions.delete_daemon_set")
	set(p, k+"daemonset.actions.update_daemon_set")
	set(r, k+"daemonset.probes.daemon_set_available_and_healthy", k+"daemonset.probes.daemon_set_partially_available")
	set(w, k+"daemonset.probes.daemon_set_fully_available", k+"daemonset.probes.daemon_set_not_fully_available")
	_, d, _, _, _ = workload("apps", "replicasets")
	set(d, k+"replicaset.actions.delete_replica_set")
	// core
	set(ns(rule("", "services", "create")), k+"service.actions.create_service_endpoint")
	set(ns(rule("", "services", "delete")), k+"service.actions.delete_service", k+"actions.remove_service_endpoint")
	set(ns(rule("", "services", "list")), k+"service.probes.service_is_initialized", k+"probes.service_endpoint_is_initialized")
	set(ns(rule("", "secrets", "create")), k+"secret.actions.create_secret")
	set(ns(rule("", "secrets", "delete")), k+"secret.actions.delete_secret")
	set(ns(rule("", "secrets", "list")), k+"secret.probes.secret_exists", k+"probes.secret_exists")
	set(cl(nsCreate), k+"namespace.actions.create_namespace")
	set(cl(nsDelete), k+"namespace.actions.delete_namespace")
	set(cl(nsList), k+"namespace.probes.namespace_exists")
	set(cl(eventsList), k+"event.probes.get_events")
	// networking
	set(ns(rule("networking.k8s.io", "ingresses", "create")), k+"networking.actions.create_ingress")
	set(ns(rule("networking.k8s.io", "ingresses", "delete")), k+"networking.actions.delete_ingress")
	set(ns(rule("networking.k8s.io", "ingresses", "patch")), k+"networking.actions.update_ingress")
	set(ns(rule("networking.k8s.io", "ingresses", "list")), k+"networking.probes.ingress_exists")
	set(ns(rule("networking.k8s.io", "networkpolicies", "create")), k+"networking.actions.create_network_policy",
		k+"networking.actions.deny_all_ingress", k+"networking.actions.deny_all_egress", k+"networking.actions.allow_dns_access")
	set(ns(rule("networking.k8s.io", "networkpolicies", "delete")), k+"networking.actions.remove_network_policy",
		k+"networking.actions.remove_deny_all_ingress", k+"networking.actions.remove_deny_all_egress", k+"networking.actions.remove_allow_dns_access")
	// nodes (cluster-scoped; pod lookups across namespaces)
	set(cl(nodesRead, rule("", "nodes", "delete"), rule("", "pods", "list")), k+"node.actions.delete_nodes")
	set(cl(rule("", "nodes", "create")), k+"node.actions.create_node")
	set(cl(nodesPatch), k+"node.actions.cordon_node", k+"node.actions.uncordon_node")
	set(cl(nodesPatch, rule("", "pods", "list", "watch"), evictions), k+"node.actions.drain_nodes")
	set(cl(nodesRead), k+"node.probes.get_nodes", k+"node.probes.get_all_node_status_conditions",
		k+"node.probes.all_nodes_must_be_ready_to_schedule", k+"node.probes.verify_nodes_condition", k+"node.probes.nodes_must_be_healthy")
	// custom objects: the resource comes from the group and plural arguments
	custom := func(verbs []string, cluster bool, names ...string) {
		set(need{customVerbs: verbs, customCluster: cluster}, names...)
	}
	custom([]string{"create", "get"}, false, k+"crd.actions.create_custom_object")
	custom([]string{"create", "get"}, true, k+"crd.actions.create_cluster_custom_object")
	custom([]string{"delete"}, false, k+"crd.actions.delete_custom_object")
	custom([]string{"delete"}, true, k+"crd.actions.delete_cluster_custom_object")
	custom([]string{"get", "patch", "update"}, false, k+"crd.actions.patch_custom_object", k+"crd.actions.replace_custom_object")
	custom([]string{"get", "patch", "update"}, true, k+"crd.actions.patch_cluster_custom_object", k+"crd.actions.replace_cluster_custom_object")
	custom([]string{"get"}, false, k+"crd.probes.get_custom_object")
	custom([]string{"get"}, true, k+"crd.probes.get_cluster_custom_object")
	custom([]string{"list"}, false, k+"crd.probes.list_custom_objects")
	custom([]string{"list"}, true, k+"crd.probes.list_cluster_custom_objects")
	set(need{why: "the objects it applies are in its document"}, k+"crd.actions.apply_from_json", k+"crd.actions.apply_from_yaml")
	// Chaos Mesh network faults (providers/chaosmesh): the object, its lease, the CRD check
	nc := func(verbs ...string) rbacv1.PolicyRule { return rule("chaos-mesh.org", "networkchaos", verbs...) }
	create := need{ns: []rbacv1.PolicyRule{nc("create", "get", "patch", "update")}, cluster: []rbacv1.PolicyRule{chaosCRDRead}}
	set(create, k+"chaosmesh.network.actions.set_loss", k+"chaosmesh.network.actions.add_latency", "chaostest.chaosmesh.network.actions.partition",
		k+"chaosmesh.network.actions.duplicate_packets", k+"chaosmesh.network.actions.corrupt_packets",
		k+"chaosmesh.network.actions.reorder_packets", k+"chaosmesh.network.actions.set_bandwidth")
	set(ns(nc("delete")), k+"chaosmesh.network.actions.delete_network_fault")
	set(ns(nc("get")), k+"chaosmesh.network.probes.get_network_fault")
	set(ns(nc("list")), k+"chaosmesh.network.probes.get_network_faults")
	// Chaos Mesh stress (providers/chaosmesh): the same for StressChaos
	sc := func(verbs ...string) rbacv1.PolicyRule { return rule("chaos-mesh.org", "stresschaos", verbs...) }
	set(need{ns: []rbacv1.PolicyRule{sc("create", "get", "patch", "update")}, cluster: []rbacv1.PolicyRule{stressCRDRead}},
		k+"chaosmesh.stress.actions.stress_cpu", k+"chaosmesh.stress.actions.stress_memory")
	set(ns(sc("delete")), k+"chaosmesh.stress.actions.delete_stressor")
	set(ns(sc("get")), k+"chaosmesh.stress.probes.get_stressor")
	set(ns(sc("list")), k+"chaosmesh.stress.probes.get_stressors")
	return t
}()

// KnownFuncs lists the provider functions whose API needs the table knows, sorted.
func KnownFuncs() []string {
	out := make([]string, 0, len(table))
	for name := range table {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Permissions is the narrowest RBAC an experiment's providers need: rules per namespace (a
// Role and RoleBinding in each) and cluster-wide rules (a ClusterRole and binding).
type Permissions struct {
	Namespaced map[string][]rbacv1.PolicyRule
	Cluster    []rbacv1.PolicyRule
}

// Namespaces returns the namespaces the experiment's providers act in, sorted.
func (p Permissions) Namespaces() []string {
	out := make([]string, 0, len(p.Namespaced))
	for ns := range p.Namespaced {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// Resolver turns an argument value that holds ${...} references into its value; it returns
// an error when a reference is not known before the run.
type Resolver func(s string) (string, error)

// Derive computes the Permissions the python-type activities of the experiment (steady-state
// hypothesis, method, rollbacks; a "ref" activity counts once) need, from the table of provider
// functions. http and process activities need none. A function the table does not know, or
// whose arguments do not say what it touches, is an error naming the activity: run such an
// experiment with a service account of your own.
func Derive(exp *jsonvalue.Object, resolve Resolver) (Permissions, error) {
	p := Permissions{Namespaced: map[string][]rbacv1.PolicyRule{}}
	var acts []*jsonvalue.Object
	if ssh, ok := exp.Value("steady-state-hypothesis").(*jsonvalue.Object); ok {
		acts = append(acts, objects(ssh.Value("probes"))...)
	}
	acts = append(acts, objects(exp.Value("method"))...)
	acts = append(acts, objects(exp.Value("rollbacks"))...)
	for _, a := range acts {
		prov, ok := a.Value("provider").(*jsonvalue.Object)
		if !ok {
			continue // a "ref" to an activity declared elsewhere, or invalid (validation says so)
		}
		typ, _ := prov.Value("type").(string)
		if typ != "python" {
			continue
		}
		mod, _ := prov.Value("module").(string)
		fn, _ := prov.Value("func").(string)
		name := mod + "." + fn
		actName, _ := a.Value("name").(string)
		n, ok := table[name]
		if !ok {
			return Permissions{}, fmt.Errorf("activity %q: the API permissions of %s are not known; give the run a service account of yours with --service-account", actName, name)
		}
		if n.why != "" {
			return Permissions{}, fmt.Errorf("activity %q: the API permissions of %s cannot be derived (%s); give the run a service account of yours with --service-account", actName, name, n.why)
		}
		args, _ := prov.Value("arguments").(*jsonvalue.Object)
		arg := func(key, def string) (string, error) {
			v := def
			if args != nil {
				if raw, ok := args.Get(key); ok && raw != nil {
					s, ok := raw.(string)
					if !ok {
						return "", fmt.Errorf("activity %q: argument %q of %s is not a string", actName, key, name)
					}
					v = s
				}
			}
			if strings.Contains(v, "${") {
				r, err := resolve(v)
				if err != nil {
					return "", fmt.Errorf("activity %q: argument %q of %s: %w", actName, key, name, err)
				}
				v = r
			}
			return v, nil
		}
		nsRules := n.ns
		clRules := n.cluster
		if n.customVerbs != nil {
			group, err := arg("group", "")
			if err != nil {
				return Permissions{}, err
			}
			plural, err := arg("plural", "")
			if err != nil {
				return Permissions{}, err
			}
			if plural == "" {
				return Permissions{}, fmt.Errorf("activity %q: %s needs its plural argument to derive its API permissions", actName, name)
			}
			r := rule(group, plural, n.customVerbs...)
			if n.customCluster {
				clRules = append(clRules, r)
			} else {
				nsRules = append(nsRules, r)
			}
		}
		if len(nsRules) > 0 {
			ns, err := arg("ns", "default")
			if err != nil {
				return Permissions{}, err
			}
			if ns == "" {
				ns = "default"
			}
			p.Namespaced[ns] = append(p.Namespaced[ns], nsRules...)
		}
		p.Cluster = append(p.Cluster, clRules...)
	}
	for ns, rules := range p.Namespaced {
		p.Namespaced[ns] = merge(rules)
	}
	p.Cluster = merge(p.Cluster)
	return p, nil
}

func objects(v any) []*jsonvalue.Object {
	list, _ := v.([]any)
	var out []*jsonvalue.Object
	for _, e := range list {
		if o, ok := e.(*jsonvalue.Object); ok {
			out = append(out, o)
		}
	}
	return out
}

// merge folds rules on the same group, resource and resource names into one rule with the
// union of their verbs, sorted, so that the Role reads as a table.
func merge(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	type key struct{ group, resource, names string }
	verbs := map[key][]string{}
	var order []key
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				k := key{g, res, strings.Join(r.ResourceNames, ",")}
				if _, ok := verbs[k]; !ok {
					order = append(order, k)
				}
				for _, v := range r.Verbs {
					if !slices.Contains(verbs[k], v) {
						verbs[k] = append(verbs[k], v)
					}
				}
			}
		}
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.group != b.group {
			return a.group < b.group
		}
		if a.resource != b.resource {
			return a.resource < b.resource
		}
		return a.names < b.names
	})
	var out []rbacv1.PolicyRule
	for _, k := range order {
		v := verbs[k]
		sort.Strings(v)
		r := rbacv1.PolicyRule{APIGroups: []string{k.group}, Resources: []string{k.resource}, Verbs: v}
		if k.names != "" {
			r.ResourceNames = strings.Split(k.names, ",")
		}
		out = append(out, r)
	}
	return out
}
