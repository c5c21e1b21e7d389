//go:build !chaostest_k8s

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/chaostest/chaostest/internal/k8sfuncs"
	"github.com/chaostest/chaostest/provider"
)

// The Kubernetes providers run in the helper executable chaostest-k8s (-tags chaostest_k8s), so
// that this binary does not link client-go: its package initialisation would cost tens of
// milliseconds at every start, Kubernetes or not. The functions are registered here from their
// signature table (validation and `chaostest providers` need nothing more), and the helper is
// started on the first call.

func init() {
	for _, f := range k8sfuncs.Table {
		args := make([]provider.ArgSpec, len(f.Args))
		for i, a := range f.Args {
			args[i] = provider.ArgSpec{Name: a.Name, Type: a.Type, Default: a.Default, Required: a.Required}
		}
		name := f.Name
		provider.RegisterRemote(name, f.Doc, args, func(ctx context.Context, env provider.Env, a map[string]any) (any, error) {
			return k8sHelper.Call(ctx, name, env, a)
		})
	}
}

// delegate runs the whole command line in the helper (chaostest-k8s is this CLI with the
// Kubernetes parts linked in), with this process's stdin, and returns its exit code.
//
// The helper runs in its own process group and gets every signal this process gets, once:
// Ctrl-C at a terminal (sent to the foreground group) and the kubelet's SIGTERM to the pod's
// PID 1 (this process, in the Job of `run --in-cluster`) alike reach it exactly once, so its
// run is interrupted and its rollbacks run as in a local run. It dies with this process.
func delegate(what string, stdout, stderr io.Writer) int {
	path, err := findHelper()
	if err != nil {
		fmt.Fprintln(stderr, "chaostest "+what+": "+err.Error())
		return 1
	}
	var args []string
	if p := cliArgs.Load(); p != nil {
		args = *p
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if self, err := os.Executable(); err == nil {
		cmd.Env = append(os.Environ(), cliEnv+"="+self)
	}
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, forwarded...)
	defer signal.Stop(sig)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "chaostest "+what+": "+err.Error())
		return 1
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sig:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() >= 0 {
			return ee.ExitCode()
		}
		fmt.Fprintln(stderr, "chaostest "+what+": "+err.Error())
		return 1
	}
	return 0
}

// forwarded are the signals delegate passes on to the helper.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGQUIT}

// agentMain is `chaostest agent`: the helper does it.
func agentMain(_ []string, stdout, stderr io.Writer) int { return delegate("agent", stdout, stderr) }

// inClusterMain is `chaostest run --in-cluster`: the helper does it.
func inClusterMain(_ *globalOpts, _ []string, stdout, stderr io.Writer) int {
	return delegate("run --in-cluster", stdout, stderr)
}

// inPodMain is what the Job's pod runs: the helper does it (the image carries both).
func inPodMain(_ *globalOpts, _ []string, stdout, stderr io.Writer) int {
	return delegate("in-pod", stdout, stderr)
}

// scheduleMain is `chaostest schedule`: the helper does it.
func scheduleMain(_ *globalOpts, _ []string, stdout, stderr io.Writer) int {
	return delegate("schedule", stdout, stderr)
}

// journalsMain is `chaostest journals`: the helper does it.
func journalsMain(_ []string, stdout, stderr io.Writer) int {
	return delegate("journals", stdout, stderr)
}

// imageMain is `chaostest image`: the helper does it.
func imageMain(_ []string, stdout, stderr io.Writer) int { return delegate("image", stdout, stderr) }

// serveMain answers only in the helper.
func serveMain(_ io.Reader, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "chaostest serve: only the Kubernetes helper chaostest-k8s serves calls")
	return 2
}
