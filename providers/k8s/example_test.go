package k8s_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/providers/k8s"
)

// The Go constructors build activities that read, in the journal, like the chaosk8s calls
// Chaos Toolkit would make, while running with the Go test's own client.
func ExampleClient_TerminatePods() {
	kube, err := k8s.FromREST(&rest.Config{Host: "https://127.0.0.1:16444"}) // no connection is made here
	if err != nil {
		panic(err)
	}
	act := kube.TerminatePods("app=greeter-pod", k8s.In("shop"), k8s.Percent(50), k8s.Oldest()).Named("terminate-greeter")
	b, _ := json.Marshal(act.Object())
	fmt.Println(string(b))
	// Output:
	// {"type":"probe","name":"terminate-greeter","provider":{"type":"python","module":"chaosk8s.pod.actions","func":"terminate_pods","arguments":{"label_selector":"app=greeter-pod","mode":"percentage","ns":"shop","order":"oldest","qty":50}}}
}

func ExampleClient_PodsInPhase() {
	kube, _ := k8s.FromREST(&rest.Config{Host: "https://127.0.0.1:16444"})
	act := kube.PodsInPhase("app=webapp-pod", corev1.PodRunning, k8s.NoRaise()).Named("application-should-be-alive-and-healthy").Want(true)
	b, _ := json.Marshal(act.Object())
	fmt.Println(string(b))
	// Output:
	// {"type":"probe","name":"application-should-be-alive-and-healthy","provider":{"type":"python","module":"chaosk8s.pod.probes","func":"pods_in_phase","arguments":{"label_selector":"app=webapp-pod","phase":"Running","raise_on_invalid_phase":false}},"tolerance":true}
}

func ExampleClient_WaitFor() {
	kube, _ := k8s.FromREST(&rest.Config{Host: "https://127.0.0.1:16444"})
	act := kube.WaitFor(k8s.DeploymentReady("shop", "webapp"), time.Minute).Named("webapp-back-within-a-minute")
	b, _ := json.Marshal(act.Object())
	fmt.Println(string(b))
	// Output:
	// {"type":"probe","name":"webapp-back-within-a-minute","provider":{"type":"go","func":"k8s: wait for deployment shop/webapp fully available within 1m0s"}}
}

// Each test gets a namespace of its own; the activities of the client TestNamespace returns
// act there, so tests that run in parallel do not touch each other's pods. (Compile-only: it
// needs a cluster.)
func ExampleClient_TestNamespace() {
	var t *testing.T // the test's *testing.T
	kube := k8s.Connect(t).TestNamespace(t)
	// create the system under test in kube.Namespace(), then:
	ct := chaostest.New(t)
	ct.SteadyState("web runs", kube.WaitFor(k8s.PodsRunning("", "app=web").AtLeast(2), time.Minute).Want(true))
	ct.Action("kill-one", kube.TerminatePods("app=web"))
	ct.Probe("recovery", kube.RecoveryTime(k8s.PodsRunning("", "app=web").AtLeast(2), 2*time.Minute))
	ct.Run()
}
