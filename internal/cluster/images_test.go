package cluster

import (
	"archive/tar"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeRefMatchesWhatTheKubeletAsksFor(t *testing.T) {
	for in, want := range map[string]string{
		"greeter:dev":             "docker.io/library/greeter:dev",
		"web":                     "docker.io/library/web:latest",
		"org/app:1":               "docker.io/org/app:1",
		"chaostest.local/pause:1": "chaostest.local/pause:1",
		"localhost:5000/x:y":      "localhost:5000/x:y",
	} {
		got, err := normalizeRef(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got.String(), in)
	}
	_, err := normalizeRef("UPPER:case")
	assert.Error(t, err)
}

func TestBuildGoImageMakesAStaticSingleLayerImage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "web.tar")
	require.NoError(t, BuildGoImage(context.Background(), "", "./testdata/web", "web:test", out))

	tag, err := name.NewTag("docker.io/library/web:test")
	require.NoError(t, err)
	img, err := tarball.ImageFromPath(out, &tag)
	require.NoError(t, err, "the tarball must hold the image under its normalised name")
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, []string{"/web"}, cf.Config.Entrypoint)
	assert.Equal(t, "linux", cf.OS)
	assert.Equal(t, "amd64", cf.Architecture)
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1, "empty base + the binary")
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	require.NoError(t, err)
	assert.Equal(t, "web", hdr.Name)
	assert.Equal(t, int64(0o755), hdr.Mode)
	bin, err := io.ReadAll(tr)
	require.NoError(t, err)
	assert.Equal(t, "\x7fELF", string(bin[:4]))
	_, err = tr.Next()
	assert.Equal(t, io.EOF, err, "only the binary is in the image")

	// The binary is static: it runs here, on a machine that may lack its build's libc.
	dir := t.TempDir()
	require.NoError(t, writeFile(filepath.Join(dir, "web"), bin))
	outp, err := exec.Command(filepath.Join(dir, "web"), "echo", "static", "ok").CombinedOutput()
	require.NoError(t, err, "%s", outp)
	assert.Equal(t, "static ok\n", string(outp))
}

func TestBuildGoImageReportsBuildErrors(t *testing.T) {
	err := BuildGoImage(context.Background(), "", "./testdata/does-not-exist", "x:y", filepath.Join(t.TempDir(), "x.tar"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "build image x:y from ./testdata/does-not-exist")
}

func TestImportImageNeedsTheNode(t *testing.T) {
	c := DefaultConfig()
	c.RunDir = t.TempDir()
	err := ImportImage(context.Background(), c, "/nonexistent.tar")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "node is not running")
}

func writeFile(path string, data []byte) error {
	return writeFileAtomic(path, data, 0o755)
}
