//go:build linux

package journal

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// findChromium returns the path of Debian's chromium, or "" when it is not installed.
// CHAOSTEST_CHROMIUM names another binary; when it is set but not executable, chromium counts
// as missing.
func findChromium() string {
	if p := os.Getenv("CHAOSTEST_CHROMIUM"); p != "" {
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return p
		}
		return ""
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// TestReportRendersInChromium renders a two-journal report and a large one in real headless
// Chromium and checks that the screenshot shows the report: Chromium exits 0, reports no
// console error or failed resource load, and the PNG has the verdict banners' colours.
//
// It needs Debian's chromium (hack/setup-chromium.sh installs it). Without it the test fails,
// unless CHAOSTEST_NO_BROWSER=1 is set, which skips it.
func TestReportRendersInChromium(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		if os.Getenv("CHAOSTEST_NO_BROWSER") == "1" {
			t.Skip("CHAOSTEST_NO_BROWSER=1: skipping the real-browser report check (chromium is not installed)")
		}
		t.Fatal("chromium is not installed: run hack/setup-chromium.sh (apt-get install chromium), or set CHAOSTEST_NO_BROWSER=1 to skip this check")
	}
	dir := t.ArtifactDir()

	deviated := readOwn(t, "continuous-deviated.json")
	failed := mustRead(t, filepath.Join("..", "testdata", "corpus", "journals", "ferkhan-chaos-toolkit.journal.json"))
	cases := []struct {
		name     string
		journals []*Journal
		colours  map[string]color.RGBA // colour name → colour that must cover a banner's area
	}{
		{"side-by-side", []*Journal{deviated, failed}, map[string]color.RGBA{
			"deviated banner": {0x9a, 0x67, 0x00, 0xff},
			"failed banner":   {0xcf, 0x22, 0x2e, 0xff},
		}},
		{"1000-probes", []*Journal{bigJournal(1000)}, map[string]color.RGBA{
			"completed banner": {0x1a, 0x7f, 0x37, 0xff},
			"probe bars":       {0x09, 0x69, 0xda, 0xff},
			"missed bars":      {0xe1, 0x6f, 0x24, 0xff},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // Chromium spends most of its start-up waiting; two at once halve the time.
			page := filepath.Join(dir, c.name+".html")
			shot := filepath.Join(dir, c.name+".png")
			var b bytes.Buffer
			require.NoError(t, RenderHTML(&b, c.journals...))
			require.NoError(t, os.WriteFile(page, b.Bytes(), 0o644))

			stderr := runChromium(t, chromium, page, shot)
			for _, bad := range []string{"CONSOLE", "Uncaught", "Failed to load resource", "net::ERR_"} {
				for _, line := range strings.Split(stderr, "\n") {
					if strings.Contains(line, bad) {
						t.Errorf("chromium reported a page problem (%q): %s", bad, line)
					}
				}
			}

			f, err := os.Open(shot)
			require.NoError(t, err, "chromium wrote no screenshot; its output:\n%s", stderr)
			defer f.Close()
			img, err := png.Decode(f)
			require.NoError(t, err, "the screenshot is not a PNG")
			assert.Equal(t, image.Rect(0, 0, 1280, 2000), img.Bounds())
			for name, want := range c.colours {
				n := countColour(img, want)
				assert.Greater(t, n, 2000, "expected the %s (%v) to cover at least 2000 pixels of the screenshot, found %d", name, want, n)
			}
			t.Logf("screenshot: %s", shot)
		})
	}
}

// runChromium takes a screenshot of page with headless Chromium and returns its stderr. It
// fails the test when Chromium exits non-zero or takes more than 2 minutes.
func runChromium(t *testing.T, chromium, page, shot string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	profile := t.TempDir()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--enable-logging=stderr", "--v=0",
		"--user-data-dir="+profile, "--screenshot="+shot, "--window-size=1280,2000",
		"file://"+page)
	// Chromium starts helper processes: put them in a group of their own and end the whole group
	// (and only it) when the context ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = append(os.Environ(), "HOME="+profile)
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("chromium did not finish within 2 minutes; output:\n%s", stderr.String())
	}
	require.NoError(t, err, "chromium failed; output:\n%s", stderr.String())
	return stderr.String()
}

// countColour counts the pixels of img within a small distance of want.
func countColour(img image.Image, want color.RGBA) int {
	n := 0
	b := img.Bounds()
	near := func(a uint32, w uint8) bool {
		d := int(a>>8) - int(w)
		return d >= -6 && d <= 6
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r, want.R) && near(g, want.G) && near(bl, want.B) {
				n++
			}
		}
	}
	return n
}
