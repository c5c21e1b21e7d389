// Package engine loads, validates and runs Chaos Toolkit experiments: what `chaostest run`
// does, and what package chaostest's T does inside a Go test.
//
// A run has the phases of chaoslib's run_experiment:
//
//	e, err := engine.Load("experiment.json") // JSON or YAML 1.1, under the loading limits
//	j, err := engine.Run(ctx, e, engine.Settings{Log: logf})
//
// Load (and Parse, LoadWith) read the experiment into ordered jsonvalue.Objects; Experiment.Validate
// checks it with chaoslib's messages; Run validates, loads the configuration and secrets
// (Settings.Vars for --var and --var-file), plays the steady-state hypothesis, the method and
// the rollbacks per strategy, applies the controls (Control, RegisterControl, Settings.Controls)
// and returns the journal, which is always complete: everything that goes wrong during the run
// is in it. Providers are found in the registry of package provider; Python functions no Go
// package implements run through the optional Python bridge.
//
// Files: settings.go (Settings, strategies, log levels), run.go (the phases), executor.go (one
// activity: pauses, dry modes, timeout, provider dispatch), tolerance.go, validate.go, config.go
// (configuration, secrets, --var), control*.go, limits.go, python*.go, signal.go, secretmask.go.
package engine
