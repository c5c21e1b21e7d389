package cluster

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BinariesImage is the image of already built static linux/amd64 executables: one layer with
// each at /<base name> (PATH=/), the first one the entrypoint. Like the images of
// BuildGoImage it has nothing else (no shell, no CA certificates). It checks each executable
// with StaticLinuxAMD64.
func BinariesImage(bins ...string) (v1.Image, error) {
	if len(bins) == 0 {
		return nil, fmt.Errorf("image: no executable given")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, bin := range bins {
		if err := StaticLinuxAMD64(bin); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(&tar.Header{Name: filepath.Base(bin), Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg, Uname: "root", Gname: "root"}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerData := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerData)), nil })
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
	cf.Config = v1.Config{Entrypoint: []string{"/" + filepath.Base(bins[0])}, Env: []string{"PATH=/"}}
	return mutate.ConfigFile(img, cf)
}

// WriteImageTarball writes img as a docker-archive tarball (what ImportImage and `ctr images
// import` read) tagged ref, normalised as the kubelet spells it ("x:dev" is
// "docker.io/library/x:dev").
func WriteImageTarball(img v1.Image, ref, out string) error {
	tag, err := normalizeRef(ref)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, tag, img)
}

// NormalizeRef returns ref fully qualified, as the kubelet asks the runtime for it.
func NormalizeRef(ref string) (string, error) {
	t, err := normalizeRef(ref)
	if err != nil {
		return "", err
	}
	return t.String(), nil
}

// StaticLinuxAMD64 returns an error unless path is a linux/amd64 ELF executable without a
// dynamic loader (the only kind that runs in an image without a libc): a Go binary built with
// CGO_ENABLED=0.
func StaticLinuxAMD64(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not a Linux executable: %w", path, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("%s is built for %s, the node runs linux/amd64", path, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; build it with CGO_ENABLED=0 (make build does) to run it in an image", path)
		}
	}
	return nil
}
