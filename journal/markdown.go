package journal

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/chaostest/chaostest/jsonvalue"
)

// RenderMarkdown writes a compact GitHub-flavoured Markdown summary of j, made for CI job
// summaries ($GITHUB_STEP_SUMMARY) and pull-request comments: a verdict line, the run's facts,
// a table of the steady-state probes before and after the method (met or not, and how long
// they took), a count of the checks made during the method, the method's actions and probes,
// the rollbacks, and the failures with their exception messages. Outputs and configuration are
// left out (the HTML report has them), so nothing secret is shown.
func RenderMarkdown(w io.Writer, j *Journal) error {
	if j == nil {
		return errors.New("journal: RenderMarkdown of a nil journal")
	}
	bw := bufio.NewWriter(w)
	m := &mdWriter{w: bw}
	m.journal(j)
	if m.err != nil {
		return m.err
	}
	return bw.Flush()
}

type mdWriter struct {
	w   *bufio.Writer
	err error
}

func (m *mdWriter) printf(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

var verdictIcons = map[string]string{
	"completed":   "✅",
	"deviated":    "⚠️",
	"failed":      "❌",
	"aborted":     "⛔",
	"interrupted": "⏹️",
}

func (m *mdWriter) journal(j *Journal) {
	v := VerdictOf(j)
	icon, label := verdictIcons[v.Name], verdictLabel(j, v)
	if verdictClass(j, v) == "v-inconclusive" {
		icon = "❔"
	}
	if icon == "" {
		icon = "❓"
	}
	title := j.Title()
	if title == "" {
		title = "(untitled experiment)"
	}
	m.printf("## %s %s — %s\n\n%s\n\n", icon, label, mdInline(title), mdInline(v.Words))

	m.printf("| status | deviated | start | duration | chaoslib |\n|---|---|---|---|---|\n")
	m.printf("| %s | %v | %s | %s | %s |\n\n", mdCell(j.Status), j.Deviated, mdCell(humanTime(j.Start)), formatSeconds(j.Duration), mdCell(j.ChaoslibVersion))

	m.steadyState(j)
	m.activities("Method", j.Run, "The method did not run.")
	m.activities("Rollbacks", j.Rollbacks, "No rollback ran.")
	m.failures(j)
}

func (m *mdWriter) steadyState(j *Journal) {
	m.printf("### Steady state\n\n")
	before, after := j.SteadyStates.Before, j.SteadyStates.After
	if before == nil && after == nil && len(j.SteadyStates.During) == 0 {
		m.printf("No steady-state check ran.\n\n")
		return
	}
	// Probe names in hypothesis order: from the experiment, then any the records add.
	var names []string
	seen := map[string]bool{}
	addName := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if hyp, ok := j.Experiment.Value("steady-state-hypothesis").(*jsonvalue.Object); ok {
		if probes, ok := hyp.Value("probes").([]any); ok {
			for _, p := range probes {
				if o, ok := p.(*jsonvalue.Object); ok {
					if n, ok := o.Value("name").(string); ok {
						addName(n)
					}
				}
			}
		}
	}
	for _, s := range []*State{before, after} {
		if s != nil {
			for _, p := range s.Probes {
				if p != nil {
					addName(p.Name())
				}
			}
		}
	}
	if len(names) > 0 {
		m.printf("| probe | before | after |\n|---|---|---|\n")
		for _, n := range names {
			m.printf("| %s | %s | %s |\n", mdCell(n), probeCell(before, n), probeCell(after, n))
		}
		m.printf("\n")
	}
	m.printf("Before the method: %s. After the method: %s.", stateWords(before), stateWords(after))
	if d := j.SteadyStates.During; len(d) > 0 {
		checks, missed := DuringCounts(d)
		m.printf(" During the method: %d %s, %d missed.", checks, plural(checks, "check", "checks"), missed)
	}
	m.printf("\n\n")
}

func stateWords(s *State) string {
	switch {
	case s == nil:
		return "not run"
	case s.SteadyStateMet:
		return "met"
	default:
		return "**not met**"
	}
}

// probeCell describes how the probe named name did in state s.
func probeCell(s *State, name string) string {
	if s == nil {
		return "—"
	}
	for _, p := range s.Probes {
		if p == nil || p.Name() != name {
			continue
		}
		d := formatSeconds(p.Duration)
		switch {
		case p.Status == RunFailed:
			return "❌ raised (" + d + ")"
		case p.Status == "":
			return "⛔ stopped midway"
		case p.ToleranceMet != nil && !*p.ToleranceMet:
			return "⚠️ not met (" + d + ")"
		default:
			return "✅ met (" + d + ")"
		}
	}
	return "— not reached"
}

func (m *mdWriter) activities(title string, rs []*Run, none string) {
	m.printf("### %s\n\n", title)
	if len(rs) == 0 {
		m.printf("%s\n\n", none)
		return
	}
	m.printf("| # | activity | type | status | duration |\n|---|---|---|---|---|\n")
	for i, r := range rs {
		if r == nil {
			m.printf("| %d | (no record) | | | |\n", i+1)
			continue
		}
		m.printf("| %d | %s | %s | %s | %s |\n", i+1, mdCell(r.Name()), mdCell(r.Type()), runCell(r), formatSeconds(r.Duration))
	}
	m.printf("\n")
}

func runCell(r *Run) string {
	switch r.Status {
	case RunSucceeded:
		return "✅ succeeded"
	case RunFailed:
		return "❌ failed"
	case "":
		return "⛔ stopped midway"
	default:
		return mdCell(r.Status)
	}
}

// failures lists every record that raised, with its exception message.
func (m *mdWriter) failures(j *Journal) {
	type failure struct {
		where string
		r     *Run
	}
	var fs []failure
	collect := func(where string, rs []*Run) {
		for _, r := range rs {
			if r != nil && r.Status == RunFailed {
				fs = append(fs, failure{where, r})
			}
		}
	}
	if j.SteadyStates.Before != nil {
		collect("steady state before", j.SteadyStates.Before.Probes)
	}
	collect("method", j.Run)
	seen := 0
	for _, s := range j.SteadyStates.During {
		if s != nil {
			where := fmt.Sprintf("steady state during (check %d)", seen+1)
			if n := s.Checks(); n > 1 {
				where = fmt.Sprintf("steady state during (checks %d–%d, %d alike)", seen+1, seen+n, n)
			}
			collect(where, s.Probes)
			seen += s.Checks()
		}
	}
	if j.SteadyStates.After != nil {
		collect("steady state after", j.SteadyStates.After.Probes)
	}
	collect("rollbacks", j.Rollbacks)
	if len(fs) == 0 {
		return
	}
	const maxShown = 20
	m.printf("### Failures\n\n")
	for i, f := range fs {
		if i == maxShown {
			m.printf("- … and %d more\n", len(fs)-maxShown)
			break
		}
		msg := f.r.ExceptionMessage()
		if msg == "" {
			msg = "(no exception recorded)"
		}
		m.printf("- **%s** (%s): `%s`\n", mdInline(f.r.Name()), f.where, strings.ReplaceAll(shorten(oneLine(msg), 300), "`", "'"))
	}
	m.printf("\n")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// mdCell makes s safe inside a Markdown table cell.
func mdCell(s string) string {
	s = oneLine(s)
	s = strings.ReplaceAll(s, "|", "\\|")
	return mdInline(s)
}

var mdEscaper = strings.NewReplacer("<", "&lt;", ">", "&gt;", "*", "\\*", "`", "\\`", "[", "\\[", "]", "\\]")

// mdInline escapes the characters that would turn text into Markdown or HTML markup.
func mdInline(s string) string {
	return mdEscaper.Replace(oneLine(s))
}
