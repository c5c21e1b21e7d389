package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/chaostest/chaostest/jsonvalue"
)

// HypothesisStrategy says when the steady-state hypothesis is checked: the values of `chaos run
// --hypothesis-strategy` and of "strategy" in an experiment's runtime.hypothesis block.
// ParseHypothesisStrategy checks a value; Run refuses an unknown one.
type HypothesisStrategy string

// Hypothesis strategies, spelled as Chaos Toolkit spells them.
const (
	// StrategyDefault checks the steady state before and after the method.
	StrategyDefault HypothesisStrategy = "default"
	// StrategyBeforeMethodOnly checks it before the method only.
	StrategyBeforeMethodOnly HypothesisStrategy = "before-method-only"
	// StrategyAfterMethodOnly checks it after the method only.
	StrategyAfterMethodOnly HypothesisStrategy = "after-method-only"
	// StrategyDuringMethodOnly checks it repeatedly while the method runs, and only then.
	StrategyDuringMethodOnly HypothesisStrategy = "during-method-only"
	// StrategyContinuously checks it before, during and after the method.
	StrategyContinuously HypothesisStrategy = "continuously"
	// StrategySkip never checks it (chaoslib's Strategy.SKIP: an experiment's runtime block
	// only; `chaos run` has no flag value for it).
	StrategySkip HypothesisStrategy = "skip"
)

// ParseHypothesisStrategy returns the hypothesis strategy s names. It accepts chaoslib's
// spellings, "continously" (its historical misspelling) included, and "" as "default"; anything
// else is an error that lists the valid values.
func ParseHypothesisStrategy(s string) (HypothesisStrategy, error) {
	switch h := HypothesisStrategy(s); h {
	case "":
		return StrategyDefault, nil
	case "continously":
		return StrategyContinuously, nil
	case StrategyDefault, StrategyBeforeMethodOnly, StrategyAfterMethodOnly, StrategyDuringMethodOnly, StrategyContinuously, StrategySkip:
		return h, nil
	}
	return "", fmt.Errorf("unknown hypothesis strategy %q: want default, before-method-only, after-method-only, during-method-only or continuously", s)
}

// RollbackStrategy says when rollbacks are played: the values of `chaos run --rollback-strategy`
// and of "strategy" in an experiment's runtime.rollbacks block. ParseRollbackStrategy checks a
// value; Run refuses an unknown one.
type RollbackStrategy string

// Rollback strategies, spelled as Chaos Toolkit spells them.
const (
	// RollbackDefault plays rollbacks unless the run was interrupted or aborted.
	RollbackDefault RollbackStrategy = "default"
	// RollbackAlways plays them whatever happened.
	RollbackAlways RollbackStrategy = "always"
	// RollbackNever never plays them.
	RollbackNever RollbackStrategy = "never"
	// RollbackDeviated plays them only when the steady state deviated.
	RollbackDeviated RollbackStrategy = "deviated"
)

// ParseRollbackStrategy returns the rollback strategy s names ("" is "default"), or an error
// that lists the valid values.
func ParseRollbackStrategy(s string) (RollbackStrategy, error) {
	switch rb := RollbackStrategy(s); rb {
	case "":
		return RollbackDefault, nil
	case RollbackDefault, RollbackAlways, RollbackNever, RollbackDeviated:
		return rb, nil
	}
	return "", fmt.Errorf("unknown rollback strategy %q: want default, always, never or deviated", s)
}

// Dry modes, as `chaos run --dry`.
const (
	DryProbes     = "probes"
	DryActions    = "actions"
	DryActivities = "activities"
	DryPause      = "pause"
)

// Version is written to journals as "chaoslib-version".
const Version = "chaostest 0.1.0"

// Settings controls one run. The zero value runs like `chaos run` with no flags.
type Settings struct {
	// Vars holds --var and --var-file values.
	Vars *Vars
	// HypothesisStrategy is one of the Strategy constants; "" takes the experiment's runtime
	// block, else "default".
	HypothesisStrategy HypothesisStrategy
	// HypothesisFrequency is the gap between steady-state checks while the method runs
	// (during-method-only, continuously). Zero means 1 s. Sub-second values are fine.
	HypothesisFrequency time.Duration
	// FailFast stops the run at the first steady-state miss while the method runs.
	FailFast bool
	// RollbackStrategy is one of the Rollback constants; "" takes the experiment's runtime block,
	// else "default".
	RollbackStrategy RollbackStrategy
	// Dry is "" or one of the Dry constants.
	Dry string
	// NoValidation skips validation (`--no-validation`).
	NoValidation bool
	// Log receives progress lines; nil discards them.
	Log Logger
	// RollbackOnInterrupt plays rollbacks when the run is interrupted (its context ended), whatever
	// the strategy. chaostest.T sets it so a test that times out still undoes its faults.
	RollbackOnInterrupt bool
	// RollbackContext, when set, gives the context rollbacks run under (instead of the run's),
	// so they still run after the run's context ended.
	RollbackContext func() (context.Context, context.CancelFunc)
	// JournalDuring is how the checks made while the method runs are journaled:
	// JournalDuringFolded ("" too) or JournalDuringFull.
	JournalDuring string
	// Controls are global controls (Chaos Toolkit's settings `controls`), applied at every level
	// before the experiment's own controls. See Control.
	Controls []ControlSpec
	// beforeRollbacks is called once the method phase is over, before rollbacks; T uses it.
	beforeRollbacks func()
}

// Level is the severity of a log line.
type Level string

// Log levels as chaos run prints them.
const (
	LevelDebug    Level = "DEBUG"
	LevelInfo     Level = "INFO"
	LevelWarning  Level = "WARNING"
	LevelError    Level = "ERROR"
	LevelCritical Level = "CRITICAL"
)

// Logger receives progress lines.
type Logger func(level Level, msg string)

// FormatLine formats a progress line as `chaos run` prints it: "[2006-01-02 15:04:05 INFO] msg".
func FormatLine(t time.Time, level Level, msg string) string {
	return "[" + t.Format("2006-01-02 15:04:05") + " " + string(level) + "] " + msg
}

// Strategies works out the hypothesis and rollback strategies as `chaos run` does: a flag (a
// Settings field) wins; else, if the experiment has a runtime block, both come from it
// ("default" for one it omits); else "default". An unknown strategy, given or read from the
// file, is an error naming it and the valid values.
func (e *Experiment) Strategies(hypothesis HypothesisStrategy, rollback RollbackStrategy) (HypothesisStrategy, RollbackStrategy, error) {
	rt, hasRuntime := e.obj.Value("runtime").(*jsonvalue.Object)
	pick := func(flag, section string) string {
		if flag != "" {
			return flag
		}
		if hasRuntime {
			if s, ok := rt.Value(section).(*jsonvalue.Object); ok {
				if v, ok := s.Value("strategy").(string); ok && v != "" {
					return v
				}
			}
		}
		return ""
	}
	h, err := ParseHypothesisStrategy(pick(string(hypothesis), "hypothesis"))
	if err != nil {
		return "", "", err
	}
	rb, err := ParseRollbackStrategy(pick(string(rollback), "rollbacks"))
	if err != nil {
		return "", "", err
	}
	return h, rb, nil
}
