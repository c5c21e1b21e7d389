package engine_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/engine"
	_ "github.com/chaostest/chaostest/providers/http"
	_ "github.com/chaostest/chaostest/providers/process"
)

func problems(t *testing.T, err error) []engine.Problem {
	t.Helper()
	var ve *engine.ValidationError
	require.True(t, errors.As(err, &ve), "want a *ValidationError, got %v", err)
	return ve.Problems
}

const corpus = "../testdata/corpus"

// TestCorpusLoads loads every real Chaos Toolkit file: all parse; the INVALID ones fail validation
// with the documented message; the seed experiment fails only for its Kubernetes providers, which
// this package does not link.
func TestCorpusLoads(t *testing.T) {
	t.Setenv("WEBAPP_URL", "http://127.0.0.1:1/")
	files, err := filepath.Glob(filepath.Join(corpus, "*.*"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 16)
	for _, f := range files {
		if strings.HasSuffix(f, ".tsv") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			e, err := engine.Load(f)
			require.NoError(t, err)
			require.NotZero(t, e.Object().Len())
			verr := e.Validate(nil)
			switch base := filepath.Base(f); {
			case strings.HasPrefix(base, "06-"):
				require.Equal(t, "experiment requires a description", problems(t, verr)[0].Message)
			case strings.HasPrefix(base, "07-"):
				require.Equal(t, "an activity must have a type", problems(t, verr)[0].Message)
			case strings.HasPrefix(base, "15-"):
				ps := problems(t, verr)
				require.Len(t, ps, 3)
				for _, p := range ps {
					require.Contains(t, p.Message, "could not find Python module 'chaosk8s.pod.")
				}
				require.Contains(t, ps[1].Message, "chaosk8s.pod.actions.terminate_pods")
				require.Equal(t, "method[0] (action 'terminate-greeting-service')", ps[1].Where)
			case strings.Contains(base, ".VARFILE."):
				v := &engine.Vars{}
				require.NoError(t, v.LoadFile(f))
				require.NotEmpty(t, v.Configuration)
			}
		})
	}
}
