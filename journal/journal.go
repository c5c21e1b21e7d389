// Package journal holds the Chaos Toolkit journal: the record of one experiment run, written as
// journal.json. Its types follow the schema chaostoolkit-lib writes (keys in the same order), so
// journals from chaostest and from Chaos Toolkit can be read, compared and rendered alike.
//
//   - Read, Parse, Encode and Write (atomic: temporary file, fsync, rename) handle journal.json
//     as Chaos Toolkit writes it; Chaos Toolkit's journals read and written again are byte for
//     byte the same.
//   - Normalize masks what changes from run to run (times, durations, hosts, ports, generated
//     names, tracebacks), so journals compare and snapshot well; Diff compares two journals in
//     behaviour (chaostest diff).
//   - RenderHTML draws a self-contained report with an SVG timeline (several journals side by
//     side), RenderMarkdown a summary for CI (chaostest report).
//   - Package journaltest snapshots a journal with go-snaps in one line.
package journal

import (
	"time"

	"github.com/chaostest/chaostest/jsonvalue"
)

// Statuses a journal can end with.
const (
	StatusCompleted   = "completed"
	StatusFailed      = "failed"
	StatusAborted     = "aborted"
	StatusInterrupted = "interrupted"
)

// Statuses of one activity run.
const (
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
)

// Journal is the record of one experiment run. Field order is the key order of journal.json.
type Journal struct {
	// ChaoslibVersion names the engine that wrote the journal ("chaostest vX" for ours).
	ChaoslibVersion string `json:"chaoslib-version"`
	// Platform is the operating system and architecture the run happened on.
	Platform string `json:"platform"`
	// Node is the host name of the machine that ran the experiment.
	Node string `json:"node"`
	// Experiment is a copy of the experiment as it was at run start (title substituted), with
	// unknown keys kept and "dry" added.
	Experiment *jsonvalue.Object `json:"experiment"`
	// Start is when the run started, ISO-8601 (see FormatTime).
	Start string `json:"start"`
	// Status is one of StatusCompleted, StatusFailed, StatusAborted, StatusInterrupted.
	Status string `json:"status"`
	// Deviated is true when the steady state did not hold after the method.
	Deviated bool `json:"deviated"`
	// SteadyStates holds the hypothesis checks before, during and after the method.
	SteadyStates SteadyStates `json:"steady_states"`
	// Run lists the method's activities in start order.
	Run []*Run `json:"run"`
	// Rollbacks lists the rollback activities that ran.
	Rollbacks []*Run `json:"rollbacks"`
	// End is when the run ended, ISO-8601.
	End string `json:"end"`
	// Duration is the run's length in seconds.
	Duration float64 `json:"duration"`
}

// SteadyStates holds the hypothesis checks of a run.
type SteadyStates struct {
	// Before is the check before the method, nil when it did not run.
	Before *State `json:"before"`
	// After is the check after the method, nil when it did not run.
	After *State `json:"after"`
	// During lists the checks made while the method ran (during-method-only, continuously).
	During []*State `json:"during"`
}

// State is one check of the steady-state hypothesis.
type State struct {
	// SteadyStateMet is true when every probe was within its tolerance.
	SteadyStateMet bool `json:"steady_state_met"`
	// Probes lists the probes run, up to and including the first that missed.
	Probes []*Run `json:"probes"`
	// Count is set (above 1) on a folded record of the checks made during the method: how
	// many consecutive checks with this outcome it stands for; Probes are the first one's.
	// Chaos Toolkit readers ignore the key. See AppendDuring.
	Count int `json:"count,omitempty"`
	// First is the start of the first check of a folded record (with Count).
	First string `json:"first,omitempty"`
	// Last is the end of the last check of a folded record (with Count).
	Last string `json:"last,omitempty"`
}

// Run is the record of one activity run. Field order is the key order of journal.json.
type Run struct {
	// Activity is a copy of the activity that ran (a ref resolved).
	Activity *jsonvalue.Object `json:"activity"`
	// Output is what the provider returned (any JSON value), nil when it failed.
	Output any `json:"output"`
	// Start is when the activity started, ISO-8601.
	Start string `json:"start"`
	// Status is RunSucceeded or RunFailed; empty for a run that was aborted midway.
	Status string `json:"status,omitempty"`
	// Exception holds the error lines when Status is RunFailed; the last line reads
	// "chaoslib.exceptions.ActivityFailed: <message>\n".
	Exception []string `json:"exception,omitempty"`
	// End is when the activity ended (before its after-pause), ISO-8601.
	End string `json:"end"`
	// Duration is End minus Start in seconds.
	Duration float64 `json:"duration"`
	// ToleranceMet is set for hypothesis probes only.
	ToleranceMet *bool `json:"tolerance_met,omitempty"`
}

// TimeLayout is the layout of journal times: ISO-8601 in UTC with microseconds and an explicit
// "+00:00" offset, as chaostoolkit-lib 1.43.1 and later write them.
const TimeLayout = "2006-01-02T15:04:05.000000+00:00"

// FormatTime formats t the way journal times are written.
func FormatTime(t time.Time) string {
	return t.UTC().Format(TimeLayout)
}

// ParseTime reads a journal time: with an offset ("+00:00"), with "Z", or naive UTC as older
// Chaos Toolkit versions wrote them, with or without fractional seconds.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999-07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return time.Time{}, err
}
