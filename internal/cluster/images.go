package cluster

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// imageLayer is a single-layer filesystem holding one executable at /<name>.
func imageLayer(name string, data []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg, Uname: "root", Gname: "root"}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer)), nil })
}

// goImage is the image of one static binary on an empty base: linux/amd64 (the node's
// platform), entrypoint /<binary name>, PATH=/.
func goImage(bin string) (v1.Image, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	base := filepath.Base(bin)
	layer, err := imageLayer(base, data)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config = v1.Config{Entrypoint: []string{"/" + base}, Env: []string{"PATH=/"}}
	return mutate.ConfigFile(img, cf)
}

// normalizeRef turns a short reference into the fully qualified name the kubelet asks the
// runtime for ("greeter:dev" -> "docker.io/library/greeter:dev"), so an imported image matches
// a Pod's image field exactly.
func normalizeRef(ref string) (name.Tag, error) {
	t, err := name.NewTag(ref, name.WithDefaultRegistry("docker.io"), name.StrictValidation)
	if err != nil {
		// StrictValidation wants an explicit tag; accept a missing one as ":latest".
		t, err = name.NewTag(ref, name.WithDefaultRegistry("docker.io"))
		if err != nil {
			return name.Tag{}, fmt.Errorf("image reference %q: %w", ref, err)
		}
	}
	registry := t.Context().RegistryStr()
	if registry == name.DefaultRegistry {
		registry = "docker.io" // ggcr spells Docker Hub index.docker.io; containerd says docker.io
	}
	return name.NewTag(registry+"/"+t.Context().RepositoryStr()+":"+t.TagStr(), name.WithDefaultRegistry("docker.io"))
}

// writeImageTarball writes a docker-archive tarball (what `ctr images import` reads) of the
// binary's image, tagged ref.
func writeImageTarball(bin, ref, out string) error {
	img, err := goImage(bin)
	if err != nil {
		return err
	}
	tag, err := normalizeRef(ref)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, tag, img)
}

// BuildGoImage compiles the Go main package pkg (an import path, or a path relative to dir
// such as "./cmd/greeter"; dir "" means the current directory) as a static linux/amd64 binary
// and writes an OCI image of it, tagged ref, as a docker-archive tarball to out. The image has
// one layer with the binary at /<last element of pkg> as its entrypoint and nothing else: no
// shell, no CA certificates. It is what [LoadGoImage] imports; use it directly to load the image
// into another cluster (e.g. `kind load image-archive out`).
func BuildGoImage(ctx context.Context, dir, pkg, ref, out string) error {
	tmp, err := os.MkdirTemp("", "chaostest-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	base := filepath.Base(strings.TrimSuffix(pkg, "/"))
	if base == "." || base == "" || base == "/" {
		base = "app"
	}
	bin := filepath.Join(tmp, base)
	if dir == "" {
		if dir, err = os.Getwd(); err != nil {
			return err
		}
	}
	b := builder{ctx: ctx, w: io.Discard}
	cmd := []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", bin, pkg}
	if _, err := b.goCmdEnv(ctx, dir, []string{"GOFLAGS=", "GOARCH=amd64"}, cmd...); err != nil {
		return fmt.Errorf("build image %s from %s: %w", ref, pkg, err)
	}
	if err := writeImageTarball(bin, ref, out); err != nil {
		return fmt.Errorf("build image %s from %s: %w", ref, pkg, err)
	}
	return nil
}

// LoadGoImage builds the Go main package pkg (see [BuildGoImage]; relative paths are taken
// from the current directory, which under `go test` is the test's package directory) into an
// image tagged ref and imports it into the local cluster's node, ready for Pods that name ref
// with imagePullPolicy Never or IfNotPresent. Re-running it replaces the image. It needs the
// local cluster's node (see [Up]); for another cluster use BuildGoImage and that cluster's own
// loader.
//
//	if err := cluster.LoadGoImage(ctx, "./cmd/greeter", "greeter:dev"); err != nil { ... }
func LoadGoImage(ctx context.Context, pkg, ref string) error {
	return LoadGoImageWith(ctx, DefaultConfig(), pkg, ref)
}

// LoadGoImageWith is [LoadGoImage] for the cluster described by c.
func LoadGoImageWith(ctx context.Context, c Config, pkg, ref string) error {
	tmp, err := os.MkdirTemp("", "chaostest-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	tarPath := filepath.Join(tmp, "image.tar")
	if err := BuildGoImage(ctx, "", pkg, ref, tarPath); err != nil {
		return err
	}
	return ImportImage(ctx, c, tarPath)
}

// ImportImage imports a docker-archive or OCI tarball into the local node's containerd (the
// "k8s.io" namespace the kubelet uses).
func ImportImage(ctx context.Context, c Config, tarPath string) error {
	sock := c.ContainerdSocket()
	if _, err := os.Stat(sock); err != nil {
		return fmt.Errorf("import %s: the local cluster's node is not running (no containerd socket at %s); start it with `make cluster`", tarPath, sock)
	}
	if _, err := command(ctx, "ctr", "--address", sock, "--namespace", "k8s.io", "images", "import", "--no-unpack=false", tarPath); err != nil {
		return fmt.Errorf("import %s into the node's containerd: %w", tarPath, err)
	}
	return nil
}

// NodeImages lists the image names the local node's containerd holds.
func NodeImages(ctx context.Context, c Config) ([]string, error) {
	out, err := command(ctx, "ctr", "--address", c.ContainerdSocket(), "--namespace", "k8s.io", "images", "ls", "-q")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "sha256:") {
			names = append(names, l)
		}
	}
	return names, nil
}
