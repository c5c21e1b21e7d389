package cluster

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

var (
	//go:embed assets/etcd.main.go.txt
	etcdMain []byte
	//go:embed assets/etcd.go.mod.txt
	etcdGoMod []byte
	//go:embed assets/etcd.go.sum.txt
	etcdGoSum []byte
	//go:embed assets/pause.main.go.txt
	pauseMain []byte
)

// kubeCommands are the k8s.io/kubernetes commands the cluster runs, in build order (the
// apiserver first: it is the longest and shares most packages with the others).
var kubeCommands = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"}

// kwokStageFiles are the kwok lifecycle stages (from the module's kustomize/stage directory)
// the cluster uses: fast node initialisation, lease heartbeats, pods ready/complete/delete.
var kwokStageFiles = []string{
	"node/fast/node-initialize.yaml",
	"node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
	"pod/fast/pod-ready.yaml",
	"pod/fast/pod-complete.yaml",
	"pod/fast/pod-delete.yaml",
}

// Artifacts lists what Build produces under Config.CacheDir, relative to it.
func Artifacts() []string {
	out := []string{"bin/etcd"}
	for _, c := range kubeCommands {
		out = append(out, "bin/"+c)
	}
	return append(out, "bin/kwok", "bin/kwok-stages.yaml", "images/pause.tar")
}

// missingArtifacts returns the artifacts not yet in the cache.
func missingArtifacts(cacheDir string) []string {
	var out []string
	for _, a := range Artifacts() {
		if fi, err := os.Stat(filepath.Join(cacheDir, a)); err != nil || fi.Size() == 0 {
			out = append(out, a)
		}
	}
	return out
}

// Build makes every artifact the cluster needs that is not cached yet, printing to w what it
// builds and how long each took (also appended to <CacheDir>/build-times.txt). Cached
// artifacts are never rebuilt; delete the version's cache directory to force a rebuild.
// Concurrent calls (several test packages at once) are serialised by a lock file. A cold build
// takes about 7-15 minutes on two cores; with everything cached it returns at once.
func Build(ctx context.Context, c Config, w io.Writer) error {
	w = orDiscard(w)
	if err := c.validate(); err != nil {
		return err
	}
	if len(missingArtifacts(c.CacheDir)) == 0 {
		return nil
	}
	if err := os.MkdirAll(c.BinDir(), 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, filepath.Join(c.CacheDir, ".build.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	missing := missingArtifacts(c.CacheDir) // again: another process may have built them meanwhile
	if len(missing) == 0 {
		return nil
	}
	fmt.Fprintf(w, "building into %s: %s\n", c.CacheDir, strings.Join(missing, " "))
	b := builder{ctx: ctx, c: c, w: w}
	has := func(a string) bool {
		for _, m := range missing {
			if m == a {
				return true
			}
		}
		return false
	}
	if has("bin/etcd") {
		if err := b.timed("etcd "+EtcdVersion, b.etcd); err != nil {
			return err
		}
	}
	var kube []string
	for _, k := range kubeCommands {
		if has("bin/" + k) {
			kube = append(kube, k)
		}
	}
	if len(kube) > 0 {
		if err := b.kubernetes(ctx, kube); err != nil {
			return err
		}
	}
	if has("bin/kwok") || has("bin/kwok-stages.yaml") {
		if err := b.timed("kwok "+KwokVersion, b.kwok); err != nil {
			return err
		}
	}
	if has("images/pause.tar") {
		if err := b.timed("pause image", b.pause); err != nil {
			return err
		}
	}
	if m := missingArtifacts(c.CacheDir); len(m) > 0 {
		return fmt.Errorf("build finished but %s still missing from %s", strings.Join(m, " "), c.CacheDir)
	}
	return nil
}

type builder struct {
	ctx context.Context
	c   Config
	w   io.Writer
}

func (b builder) timed(what string, f func(context.Context) error) error {
	fmt.Fprintf(b.w, "== building %s\n", what)
	start := time.Now()
	if err := f(b.ctx); err != nil {
		return fmt.Errorf("build %s: %w", what, err)
	}
	line := fmt.Sprintf("%s %s %.0fs", what, time.Now().UTC().Format(time.RFC3339), time.Since(start).Seconds())
	fmt.Fprintf(b.w, "   built %s in %s\n", what, time.Since(start).Round(time.Second))
	if tf, err := os.OpenFile(filepath.Join(b.c.CacheDir, "build-times.txt"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		fmt.Fprintln(tf, line)
		tf.Close()
	}
	return nil
}

// goTool returns the go command to build with: the one on PATH, else the running toolchain's.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// goCmd runs the go command in dir with a static, reproducible, local-toolchain environment.
func (b builder) goCmd(ctx context.Context, dir string, extraEnv []string, args ...string) ([]byte, error) {
	return b.goCmdEnv(ctx, dir, append([]string{"GOFLAGS=-mod=mod", "GOWORK=off"}, extraEnv...), args...)
}

// goCmdEnv runs the go command for a static linux binary with the local toolchain only.
func (b builder) goCmdEnv(ctx context.Context, dir string, extraEnv []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOOS=linux")
	cmd.Env = append(cmd.Env, extraEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), dir, err, out)
	}
	return out, nil
}

// install moves a freshly built file into the cache atomically.
func install(tmp, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

func (b builder) srcDir(name string) (string, error) {
	d := filepath.Join(b.c.CacheDir, "src", name)
	return d, os.MkdirAll(d, 0o755)
}

func (b builder) etcd(ctx context.Context) error {
	dir, err := b.srcDir("etcd")
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"main.go": etcdMain, "go.mod": etcdGoMod, "go.sum": etcdGoSum} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	tmp := b.c.Bin("etcd") + ".tmp"
	if _, err := b.goCmd(ctx, dir, nil, "build", "-trimpath", "-ldflags", "-s -w", "-o", tmp, "."); err != nil {
		return err
	}
	return install(tmp, b.c.Bin("etcd"))
}

func (b builder) kubernetes(ctx context.Context, cmds []string) error {
	dir, err := b.srcDir("kubernetes")
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		fmt.Fprintf(b.w, "== preparing the scratch module for k8s.io/kubernetes %s (downloads modules on a fresh machine)\n", b.c.Version)
		out, err := b.goCmd(ctx, dir, nil, "mod", "download", "-json", "k8s.io/kubernetes@"+b.c.Version)
		if err != nil {
			return err
		}
		var info struct{ GoMod string }
		if err := json.Unmarshal(out, &info); err != nil || info.GoMod == "" {
			return fmt.Errorf("go mod download k8s.io/kubernetes@%s: no GoMod path in %q", b.c.Version, out)
		}
		kmod, err := os.ReadFile(info.GoMod)
		if err != nil {
			return err
		}
		mod, err := renderBuildGoMod(kmod, b.c.Version)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "doc.go"), []byte("// Package k8sbuild only exists so the go command treats this scratch module as one with code.\npackage k8sbuild\n"), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), mod, 0o644); err != nil {
			return err
		}
	}
	ld, err := kubeLDFlags(b.c.Version)
	if err != nil {
		return err
	}
	for _, name := range cmds {
		name := name
		err := b.timed(name+" "+b.c.Version, func(ctx context.Context) error {
			tmp := b.c.Bin(name) + ".tmp"
			if _, err := b.goCmd(ctx, dir, nil, "build", "-trimpath", "-ldflags", ld, "-o", tmp, "k8s.io/kubernetes/cmd/"+name); err != nil {
				return err
			}
			return install(tmp, b.c.Bin(name))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// kwok is installed with `go install pkg@version` (it has no replace directives). Its lifecycle
// stages are not compiled in ("no stages found" without --config): they ship as YAML in the
// module, so the chosen ones are concatenated into bin/kwok-stages.yaml.
func (b builder) kwok(ctx context.Context) error {
	dir, err := b.srcDir("kwok")
	if err != nil {
		return err
	}
	gobin := filepath.Join(dir, "gobin")
	if _, err := b.goCmd(ctx, dir, []string{"GOBIN=" + gobin}, "install", "-trimpath", "-ldflags", "-s -w", "sigs.k8s.io/kwok/cmd/kwok@"+KwokVersion); err != nil {
		return err
	}
	out, err := b.goCmd(ctx, dir, nil, "mod", "download", "-json", "sigs.k8s.io/kwok@"+KwokVersion)
	if err != nil {
		return err
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return fmt.Errorf("go mod download sigs.k8s.io/kwok@%s: no Dir in %q", KwokVersion, out)
	}
	var stages []byte
	for _, f := range kwokStageFiles {
		data, err := os.ReadFile(filepath.Join(info.Dir, "kustomize", "stage", f))
		if err != nil {
			return fmt.Errorf("kwok stage %s: %w", f, err)
		}
		stages = append(stages, "---\n"...)
		stages = append(stages, data...)
	}
	if err := writeFileAtomic(b.c.Bin("kwok-stages.yaml"), stages, 0o644); err != nil {
		return err
	}
	return install(filepath.Join(gobin, "kwok"), b.c.Bin("kwok"))
}

func (b builder) pause(ctx context.Context) error {
	dir, err := b.srcDir("pause")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module chaostest.local/pause\n\ngo 1.26\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), pauseMain, 0o644); err != nil {
		return err
	}
	bin := filepath.Join(dir, "pause")
	if _, err := b.goCmd(ctx, dir, nil, "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "."); err != nil {
		return err
	}
	tmp := filepath.Join(b.c.CacheDir, "images", "pause.tar.tmp")
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return err
	}
	if err := writeImageTarball(bin, pauseImage, tmp); err != nil {
		return err
	}
	return install(tmp, filepath.Join(b.c.CacheDir, "images", "pause.tar"))
}

// lockFile takes an exclusive flock on path, waiting while ctx allows.
func lockFile(ctx context.Context, path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if err != syscall.EWOULDBLOCK {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
