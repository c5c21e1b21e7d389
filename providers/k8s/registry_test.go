package k8s

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/provider"
)

type pyParam struct {
	name, def string
	hasDef    bool
}

// signatures reads testdata/chaosk8s-signatures.txt (chaosk8s 0.39's public functions) into
// "chaosk8s.module.func" -> parameters, leaving out chaosmesh and the package's own helpers.
func signatures(t *testing.T) map[string][]pyParam {
	t.Helper()
	f, err := os.Open("testdata/chaosk8s-signatures.txt")
	require.NoError(t, err)
	defer f.Close()
	out := map[string][]pyParam{}
	module := ""
	head := regexp.MustCompile(`^## chaosk8s/(.*)\.py`)
	fn := regexp.MustCompile(`^- (\w+)\((.*)\)( -> .*)?$`)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := head.FindStringSubmatch(line); m != nil {
			module = "chaosk8s." + strings.ReplaceAll(m[1], "/", ".")
			continue
		}
		m := fn.FindStringSubmatch(line)
		if m == nil || module == "chaosk8s.__init__" || strings.HasPrefix(module, "chaosk8s.chaosmesh") {
			continue
		}
		var params []pyParam
		for _, p := range splitParams(m[2]) {
			name, rest, _ := strings.Cut(p, ":")
			name = strings.TrimSpace(name)
			if name == "secrets" || name == "configuration" {
				continue
			}
			pp := pyParam{name: name}
			if i := strings.LastIndex(rest, "="); i >= 0 {
				pp.def, pp.hasDef = strings.TrimSpace(rest[i+1:]), true
			}
			params = append(params, pp)
		}
		out[module+"."+m[1]] = params
	}
	require.NoError(t, sc.Err())
	return out
}

// splitParams splits a Python parameter list on top-level commas.
func splitParams(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '[', '(':
			depth++
		case ']', ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, strings.TrimSpace(s[start:]))
	}
	return out
}

// pyDefault converts a Python default literal to the JSON value the registry holds.
func pyDefault(t *testing.T, lit string) any {
	switch lit {
	case "None":
		return nil
	case "True":
		return true
	case "False":
		return false
	}
	if strings.HasPrefix(lit, "'") {
		return strings.Trim(lit, "'")
	}
	n, err := strconv.ParseInt(lit, 10, 64)
	require.NoError(t, err, "default %s", lit)
	return n
}

func TestEverySignatureIsRegisteredWithItsArgumentsAndDefaults(t *testing.T) {
	sigs := signatures(t)
	require.Greater(t, len(sigs), 80, "signatures file parsed too few functions")
	for name, params := range sigs {
		f, ok := provider.LookupFunc(name)
		if !assert.True(t, ok, "%s is not registered", name) {
			continue
		}
		var got []string
		for _, a := range f.Args {
			got = append(got, a.Name)
		}
		var want []string
		for _, p := range params {
			want = append(want, p.name)
		}
		assert.Equal(t, want, got, "%s: argument names and order", name)
		for i, p := range params {
			if i >= len(f.Args) {
				break
			}
			a := f.Args[i]
			assert.Equal(t, !p.hasDef, a.Required, "%s(%s): required", name, p.name)
			if p.hasDef {
				assert.Equal(t, pyDefault(t, p.def), a.Default, "%s(%s): default", name, p.name)
			}
		}
	}
}

func TestUndocumentedButCallableFunctionsAreRegistered(t *testing.T) {
	// Not in __all__ (or only re-exported) upstream, yet callable from experiments.
	for _, name := range []string{
		"chaosk8s.pod.actions.delete_pods",
		"chaosk8s.pod.probes.all_pods_healthy",
		"chaosk8s.probes.read_microservices_logs",
		"chaosk8s.probes.secret_exists",
	} {
		_, ok := provider.LookupFunc(name)
		assert.True(t, ok, name)
	}
}

func TestNoChaosMeshAndNoStrayNames(t *testing.T) {
	sigs := signatures(t)
	extra := map[string]bool{
		"chaosk8s.pod.actions.delete_pods": true, "chaosk8s.pod.probes.all_pods_healthy": true,
		"chaosk8s.probes.read_microservices_logs": true, "chaosk8s.probes.secret_exists": true,
	}
	for _, n := range Names() {
		assert.False(t, strings.HasPrefix(n, "chaosk8s.chaosmesh"), n)
		assert.True(t, sigs[n] != nil || extra[n], "%s is registered but not a chaosk8s 0.39 function", n)
	}
	assert.Len(t, Names(), len(sigs)+len(extra))
}
