package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterStatus describes the local cluster as [Status] found it.
type ClusterStatus struct {
	// Healthy is true when every recorded component runs, the apiserver answers /readyz and, for
	// a cluster with a node, the node is Ready.
	Healthy bool
	// Node is true when the cluster was started with the real node.
	Node bool
	// Processes maps each recorded component to its PID (0 when recorded but no longer alive).
	Processes map[string]int
	// Problem says why the cluster is not healthy ("" when it is).
	Problem string
	// Kubeconfig is the admin kubeconfig's path.
	Kubeconfig string
}

// Status reports whether the local cluster described by c runs and is healthy.
func Status(ctx context.Context, c Config) ClusterStatus { return status(ctx, c) }

func status(ctx context.Context, c Config) ClusterStatus {
	st := ClusterStatus{Processes: map[string]int{}, Kubeconfig: c.Kubeconfig()}
	info, ok := readInfo(c)
	if !ok {
		st.Problem = "not started (no " + c.infoFile() + ")"
		return st
	}
	st.Node = info.Node
	p := c.procs()
	want := append([]string{}, controlPlane...)
	if info.Node {
		want = append(want, nodeComponents...)
	}
	for _, name := range want {
		r, ok := p.get(name)
		switch {
		case !ok:
			st.Problem = name + " not recorded"
		case !r.alive():
			st.Processes[name] = 0
			st.Problem = fmt.Sprintf("%s (pid %d) is not running", name, r.PID)
		default:
			st.Processes[name] = r.PID
		}
	}
	if st.Problem != "" {
		return st
	}
	client, err := adminHTTPClient(c)
	if err != nil {
		st.Problem = err.Error()
		return st
	}
	resp, err := client.Get(c.APIServerURL() + "/readyz")
	if err != nil {
		st.Problem = "kube-apiserver: " + err.Error()
		return st
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		st.Problem = fmt.Sprintf("kube-apiserver /readyz: HTTP %d", resp.StatusCode)
		return st
	}
	if info.Node {
		cs, err := c.Clientset()
		if err != nil {
			st.Problem = err.Error()
			return st
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		n, err := cs.CoreV1().Nodes().Get(ctx, info.NodeName, metav1.GetOptions{})
		if err != nil {
			st.Problem = "node " + info.NodeName + ": " + err.Error()
			return st
		}
		if !nodeReady(n) {
			st.Problem = "node " + info.NodeName + " is not Ready"
			return st
		}
	}
	st.Healthy = true
	return st
}

// Print writes the status in a few human-readable lines.
func (s ClusterStatus) Print(w io.Writer) {
	if s.Healthy {
		fmt.Fprintln(w, "cluster: up and healthy")
	} else {
		fmt.Fprintf(w, "cluster: not healthy: %s\n", s.Problem)
	}
	names := make([]string, 0, len(s.Processes))
	for n := range s.Processes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if s.Processes[n] == 0 {
			fmt.Fprintf(w, "  %-24s not running\n", n)
		} else {
			fmt.Fprintf(w, "  %-24s pid %d\n", n, s.Processes[n])
		}
	}
	fmt.Fprintf(w, "kubeconfig: %s\n", s.Kubeconfig)
}
