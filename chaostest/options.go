package chaostest

import (
	"fmt"
	"time"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/internal/gojson"
	"github.com/chaostest/chaostest/jsonvalue"
)

type options struct {
	title    string
	secrets  *jsonvalue.Object
	vars     map[string]any
	settings engine.Settings
	expect   string
	pauses   []pauseOpt
}

type pauseOpt struct {
	activity string
	key      string
	d        time.Duration
}

// Option changes how an experiment runs in a test. Options apply to New and RunFile.
type Option func(*options)

// Title sets the experiment's title (default: the test's name).
func Title(title string) Option { return func(o *options) { o.title = title } }

// Secret declares a secret value in a scope of an experiment built in Go, as a file's
// "secrets" block does: providers get it in their Env, `${key}` substitutes it, and journals and
// logs show it masked.
func Secret(scope, key string, value any) Option {
	return func(o *options) {
		if o.secrets == nil {
			o.secrets = &jsonvalue.Object{}
		}
		s, _ := o.secrets.Value(scope).(*jsonvalue.Object)
		if s == nil {
			s = &jsonvalue.Object{}
			o.secrets.Set(scope, s)
		}
		s.Set(key, gojson.Value(value))
	}
}

// Var overrides a configuration key declared by the experiment file, like `chaos run --var`.
// As in Chaos Toolkit, a key the experiment does not declare is ignored.
func Var(key string, value any) Option {
	return func(o *options) {
		if o.vars == nil {
			o.vars = map[string]any{}
		}
		o.vars[key] = gojson.Value(value)
	}
}

// WithSettings runs the experiment with the settings of `chaos run`'s flags:
// HypothesisStrategy, HypothesisFrequency, FailFast, RollbackStrategy, Dry, NoValidation,
// JournalDuring, Vars (--var and --var-file; Var options are applied over them) and Controls.
// Log, RollbackOnInterrupt and RollbackContext are T's own and are ignored.
//
//	chaostest.New(t, chaostest.WithSettings(engine.Settings{
//		HypothesisStrategy:  engine.StrategyContinuously,
//		HypothesisFrequency: 200 * time.Millisecond,
//		FailFast:            true,
//	}))
func WithSettings(s engine.Settings) Option {
	return func(o *options) {
		controls := append(o.settings.Controls, s.Controls...)
		o.settings = s
		o.settings.Controls = controls
	}
}

// WithControls adds global controls, as the controls of Chaos Toolkit's settings: they apply at
// every level (experiment, hypothesis, method, rollbacks, each activity), before the
// experiment's own controls, and, with RunFile, around loading the file. A spec with a Control
// is Go code (embed engine.NopControl); one without names a control module registered with
// engine.RegisterControl (or run through the Python bridge). See also Safeguards.
func WithControls(specs ...engine.ControlSpec) Option {
	return func(o *options) { o.settings.Controls = append(o.settings.Controls, specs...) }
}

// AddPauseAfter adds (or replaces) a pause of d after the named method activity, without editing
// the experiment file: `"pauses": {"after": d}`.
func AddPauseAfter(activity string, d time.Duration) Option {
	return func(o *options) { o.pauses = append(o.pauses, pauseOpt{activity, "after", d}) }
}

// Expect says which outcome the test wants instead of "held" (see T.Run): "deviated" keeps a
// known weakness under test, "failed" asserts that an action (or a rollback) fails, for example
// that the rollbacks still run after a panicking action, "inconclusive" that the steady state is
// not met to begin with, "aborted" or "interrupted" that the run is cut short. Run then fails the
// test when that outcome does not happen, or when another failure does. Expect panics on any
// other word.
func Expect(outcome string) Option {
	switch outcome {
	case outcomeHeld, outcomeDeviated, outcomeFailed, outcomeInconclusive, outcomeAborted, outcomeInterrupted:
	default:
		panic(fmt.Sprintf("chaostest.Expect(%q): want one of held, deviated, failed, inconclusive, aborted, interrupted", outcome))
	}
	return func(o *options) { o.expect = outcome }
}
