package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/chaostest/chaostest/jsonvalue"
)

// Hypothesis strategies (when the steady state is checked), as `chaos run --hypothesis-strategy`.
const (
	StrategyDefault          = "default"
	StrategyBeforeMethodOnly = "before-method-only"
	StrategyAfterMethodOnly  = "after-method-only"
	StrategyDuringMethodOnly = "during-method-only"
	StrategyContinuously     = "continuously"
)

// Rollback strategies (when rollbacks are played), as `chaos run --rollback-strategy`.
const (
	RollbackDefault  = "default"
	RollbackAlways   = "always"
	RollbackNever    = "never"
	RollbackDeviated = "deviated"
)

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
	HypothesisStrategy string
	// HypothesisFrequency is the gap between steady-state checks while the method runs
	// (during-method-only, continuously). Zero means 1 s. Sub-second values are fine.
	HypothesisFrequency time.Duration
	// FailFast stops the run at the first steady-state miss while the method runs.
	FailFast bool
	// RollbackStrategy is one of the Rollback constants; "" takes the experiment's runtime block,
	// else "default".
	RollbackStrategy string
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

// Strategies works out the hypothesis and rollback strategies as `chaos run` does: a flag wins;
// else, if the experiment has a runtime block, both come from it ("default" for one it omits);
// else "default".
func (e *Experiment) Strategies(hypothesis, rollback string) (string, string, error) {
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
		return "default"
	}
	h, rb := pick(hypothesis, "hypothesis"), pick(rollback, "rollbacks")
	if h == "continously" {
		h = StrategyContinuously
	}
	switch h {
	case StrategyDefault, StrategyBeforeMethodOnly, StrategyAfterMethodOnly, StrategyDuringMethodOnly, StrategyContinuously, "skip":
	default:
		return "", "", fmt.Errorf("unknown hypothesis strategy %q: want default, before-method-only, after-method-only, during-method-only or continuously", h)
	}
	switch rb {
	case RollbackDefault, RollbackAlways, RollbackNever, RollbackDeviated:
	default:
		return "", "", fmt.Errorf("unknown rollback strategy %q: want default, always, never or deviated", rb)
	}
	return h, rb, nil
}
