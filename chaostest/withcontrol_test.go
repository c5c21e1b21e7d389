package chaostest_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
	_ "github.com/chaostest/chaostest/providers/process"
)

// recorder is a Go control that records the hooks it sees.
type recorder struct {
	engine.NopControl
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }

func (r *recorder) BeforeLoadingExperiment(*engine.ControlEnv, string) error {
	r.add("before_loading")
	return nil
}

func (r *recorder) BeforeExperiment(context.Context, *engine.ControlEnv) error {
	r.add("before_experiment")
	return nil
}

func (r *recorder) BeforeActivity(_ context.Context, _ *engine.ControlEnv, act *jsonvalue.Object) error {
	r.add("before_activity:" + act.Value("name").(string))
	return nil
}

func (r *recorder) AfterExperiment(_ context.Context, _ *engine.ControlEnv, j *journal.Journal) error {
	r.add("after_experiment:" + j.Status)
	return nil
}

func TestWithControlOnNewAndRunFile(t *testing.T) {
	t.Run("New", func(t *testing.T) {
		rec := &recorder{}
		ct := chaostest.New(t, chaostest.WithControls(engine.ControlSpec{Name: "rec", Control: rec}))
		ct.Action("act", chaostest.Go("act", func(context.Context, provider.Env) (any, error) { rec.add("acting"); return nil, nil }))
		j := ct.Run().Journal
		assert.Equal(t, journal.StatusCompleted, j.Status)
		assert.Equal(t, []string{"before_experiment", "before_activity:act", "acting", "after_experiment:completed"}, rec.events)
	})
	t.Run("RunFile", func(t *testing.T) {
		rec := &recorder{}
		p := filepath.Join(t.TempDir(), "exp.json")
		require.NoError(t, os.WriteFile(p, []byte(`{"title": "t", "description": "d",
			"method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}]}`), 0o644))
		j := chaostest.RunFile(t, p, chaostest.WithControls(engine.ControlSpec{Name: "rec", Control: rec})).Journal
		assert.Equal(t, journal.StatusCompleted, j.Status)
		assert.Equal(t, []string{"before_loading", "before_experiment", "before_activity:a", "after_experiment:completed"}, rec.events)
	})
}

func TestSafeguardsNeedATolerance(t *testing.T) {
	assert.PanicsWithValue(t, `chaostest.Safeguards("g"): safeguard control is invalid as the probe 'no-tolerance' is missing a tolerance property (use Want)`, func() {
		chaostest.Safeguards("g", 0, chaostest.Go("x", func(context.Context, provider.Env) (any, error) { return nil, nil }).Named("no-tolerance"))
	})
	spec := chaostest.Safeguards("g", time.Second, chaostest.Go("x", func(context.Context, provider.Env) (any, error) { return true, nil }).Want(true))
	assert.Equal(t, engine.SafeguardsModule, spec.Module)
}
