// Package k8s gives chaos experiments every Kubernetes action and probe of chaostoolkit-kubernetes
// (chaosk8s 0.39), over client-go.
//
// Each function is registered in the chaostest registry under its Python name
// ("chaosk8s.pod.actions.terminate_pods", ...), with the same arguments and defaults, so
// experiment files that name them run unchanged; `chaostest providers` lists them. The same
// functions are reachable from Go through a [*Client]:
//
//	kube := k8s.Connect(t)
//	ct.Action("terminate-greeter", kube.TerminatePods("app=greeter", k8s.Qty(1)))
//	ct.Probe("webapp-back", kube.DeploymentFullyAvailable("webapp", 60*time.Second))
//
// Such activities read in the journal exactly like the Python provider Chaos Toolkit would call
// ({"type": "python", "module": "chaosk8s.pod.actions", "func": "terminate_pods", ...}) while the
// Go test's own client is used.
//
// # Semantics
//
// Behaviour follows chaosk8s 0.39, including what users rely on: which probes return false and
// which fail (with the same raise_on_* switches and messages), terminate_pods selection
// (percentage rounded up and capped, "alphabetic" meaning the API server's order, "oldest" by
// creation time, name_pattern as an unanchored regular-expression search), and the quirks of the
// deprecated chaosk8s.actions / chaosk8s.probes modules (microservice_available_and_healthy
// returns null). exec_in_pods reports a failed command's exit_code as a string, as upstream does.
// get_events reads events.k8s.io/v1, as chaosk8s does: its field selectors name regarding.*,
// reason, type, reportingController, metadata.name and metadata.namespace (core/v1's
// involvedObject.* is refused by the API server), and its output is the response body as the
// API server sent it (an EventList whose items carry regarding and note).
//
// # Where chaostest deliberately differs (safety)
//
//   - An empty selection never means every pod: terminate_pods, exec_in_pods and delete_pods
//     refuse to run with neither label_selector nor name_pattern unless all=true (chaosk8s then
//     selects every pod of the namespace). cordon_node and drain_nodes likewise refuse to act
//     on every node when neither name nor label_selector is given, and delete_deployment,
//     remove_statefulset, delete_daemon_set and delete_replica_set need a name or a selector.
//   - Actions refuse the namespaces kube-system, kube-public and kube-node-lease unless the
//     experiment's configuration sets chaostest_allow_system_namespaces to true (or a Go test
//     calls [Client.AllowSystemNamespaces]). Probes may read them.
//
// # Connection
//
// [FromEnv] builds a client the way chaosk8s does (see its doc); [FromREST] and [FromEnvConf]
// wrap a *rest.Config or an e2e-framework envconf.Config; [Connect] is for Go tests and fails
// the test when no cluster answers. With no configuration at all (no kubeconfig file, no
// in-cluster switch, no KUBERNETES_HOST), activities fail with an error wrapping [ErrNoConfig]
// that says where a configuration was looked for. Each client keeps the end of its last action
// for [Client.RecoveryTime]; [Client.Session] gives parallel experiments their own.
package k8s
