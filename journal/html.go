package journal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"strings"
	"unicode/utf8"
)

// RenderHTML writes a report of one or more journals as a single self-contained HTML file: no
// scripts, no external styles, fonts or images, so it opens offline and can be kept as a CI
// artifact. Each journal gets a column (several journals sit side by side, after a table that
// compares them) with:
//
//   - the title and the verdict (see VerdictOf) in colour and words;
//   - the run's facts (start, duration, chaoslib version, platform, node, dry mode);
//   - the configuration and secrets used, masked (see below);
//   - a timeline drawn as SVG with one lane each for the steady-state checks before, during and
//     after the method, the method's actions and probes, and the rollbacks: a bar per activity
//     record placed by its start and duration (in order, unit length each, when the journal's
//     times cannot be read, as in a normalised journal), failed bars red with a cross, missed
//     tolerances orange, records stopped midway grey and dashed; each bar links to its details;
//   - each activity's details: provider and arguments, tolerance and whether it was met, output
//     as pretty JSON (folded when longer than 25 lines), exception message and traceback.
//
// Masking: every value under the experiment's "secrets" is shown as Masked (an environment
// reference keeps its variable name); in "configuration", and in activity providers (arguments,
// headers), the value of any key whose name looks secret (IsSecretName) is masked at any depth.
//
// RenderHTML returns the first write error. It renders nothing and returns an error when given
// no journal or a nil one.
func RenderHTML(w io.Writer, journals ...*Journal) error {
	if len(journals) == 0 {
		return errors.New("journal: RenderHTML needs at least one journal")
	}
	for i, j := range journals {
		if j == nil {
			return fmt.Errorf("journal: RenderHTML: journal %d of %d is nil", i+1, len(journals))
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	h := &htmlWriter{w: bw, svgW: 1000}
	if len(journals) > 1 {
		h.svgW = 640
	}
	h.document(journals)
	if h.err != nil {
		return h.err
	}
	return bw.Flush()
}

type htmlWriter struct {
	w       *bufio.Writer
	err     error
	scratch []byte  // reused for JSON text
	svgW    float64 // width of the timeline in SVG user units: narrower columns, narrower SVG
}

func (h *htmlWriter) raw(s string) {
	if h.err == nil {
		_, h.err = h.w.WriteString(s)
	}
}

func (h *htmlWriter) rawf(format string, args ...any) {
	if h.err == nil {
		_, h.err = fmt.Fprintf(h.w, format, args...)
	}
}

// text writes s escaped for HTML text and attribute values.
func (h *htmlWriter) text(s string) {
	h.raw(html.EscapeString(s))
}

const reportCSS = `
:root{--ok:#1a7f37;--dev:#9a6700;--fail:#cf222e;--abort:#8250df;--intr:#57606a;--probe:#0969da;--action:#6639ba;--miss:#e16f24;--line:#d0d7de;--muted:#57606a}
*{box-sizing:border-box}
body{margin:0;padding:16px 20px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:20px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:14px 0 6px}
.cols{display:grid;gap:20px;overflow-x:auto}
.journal{min-width:0}
.verdict{border-radius:6px;padding:10px 14px;color:#fff;margin:8px 0 12px}
.verdict b{font-size:18px;text-transform:uppercase;letter-spacing:.04em;margin-right:8px}
.v-completed{background:var(--ok)}.v-deviated{background:var(--dev)}.v-failed{background:var(--fail)}.v-aborted{background:var(--abort)}.v-interrupted{background:var(--intr)}
.v-inconclusive{background:#0550ae}
table{border-collapse:collapse;margin:6px 0;max-width:100%}
td,th{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
pre{background:#f6f8fa;border:1px solid var(--line);border-radius:4px;padding:6px 8px;margin:4px 0;overflow-x:auto;white-space:pre-wrap;word-break:break-word;font:12px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
.facts td:first-child{color:var(--muted);white-space:nowrap}
svg.timeline{width:100%;height:auto;border:1px solid var(--line);border-radius:4px;background:#fff}
svg text{font:11px system-ui,"DejaVu Sans",Arial,sans-serif}
svg .lane-label{fill:#1f2328;font-weight:600}
svg .tick{fill:var(--muted)}
svg .grid{stroke:#eaeef2}
svg .lane-sep{stroke:var(--line)}
svg .bar{stroke:#fff;stroke-width:.5}
svg .bar.thin{stroke:none}
svg .bar.probe{fill:var(--probe)}svg .bar.action{fill:var(--action)}
svg .bar.missed{fill:var(--miss)}
svg .bar.failed{fill:var(--fail);stroke:#82071e;stroke-width:1.5}
svg .bar.aborted{fill:#afb8c1;stroke:#57606a;stroke-dasharray:3 2;stroke-width:1}
svg .mark{fill:#fff;font-weight:700;pointer-events:none}
svg .bar-label{fill:#fff;pointer-events:none}
svg .bar-label.out{fill:#1f2328}
svg .none{fill:var(--muted);font-style:italic}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle;border-radius:2px}
details.activity{border:1px solid var(--line);border-left:5px solid var(--probe);border-radius:4px;margin:6px 0;padding:4px 8px}
details.activity.action{border-left-color:var(--action)}
details.activity.failed{border-left-color:var(--fail);background:#fff5f5}
details.activity.missed{border-left-color:var(--miss);background:#fff8f0}
details.activity.aborted{border-left-color:#afb8c1;border-left-style:dashed}
details.activity>summary{cursor:pointer}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;color:#fff;margin-left:6px}
.b-ok{background:var(--ok)}.b-failed{background:var(--fail)}.b-missed{background:var(--miss)}.b-aborted{background:#6e7781}
.muted{color:var(--muted)}
.secret{color:var(--muted)}
.compare td.yes{color:var(--ok)}.compare td.no{color:var(--fail)}
`

func (h *htmlWriter) document(js []*Journal) {
	title := "chaostest report"
	if len(js) == 1 && js[0].Title() != "" {
		title = js[0].Title()
	}
	h.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	h.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
	h.text(title)
	h.raw("</title>\n<style>")
	h.raw(reportCSS)
	h.raw("</style>\n</head>\n<body>\n")
	if len(js) > 1 {
		h.rawf("<h1>Comparison of %d runs</h1>\n", len(js))
		h.compare(js)
	}
	h.rawf("<div class=\"cols\" style=\"grid-template-columns:repeat(%d,minmax(%dpx,1fr))\">\n", len(js), columnMinWidth(len(js)))
	for i, j := range js {
		h.journal(j, i, len(js) > 1)
	}
	h.raw("</div>\n<p class=\"muted\">Rendered by chaostest.</p>\n</body>\n</html>\n")
}

func columnMinWidth(n int) int {
	if n == 1 {
		return 320
	}
	return 560
}

// compare writes the table that sets several runs side by side.
func (h *htmlWriter) compare(js []*Journal) {
	h.raw("<table class=\"compare\">\n<tr><th>#</th><th>experiment</th><th>verdict</th><th>status</th><th>deviated</th><th>before</th><th>after</th><th>during (missed/checks)</th><th>method failures</th><th>start</th><th>duration</th></tr>\n")
	for i, j := range js {
		v := VerdictOf(j)
		h.rawf("<tr><td><a href=\"#j%d\">%d</a></td><td>", i, i+1)
		h.text(j.Title())
		h.rawf("</td><td><span class=\"badge %s\">", verdictClass(j, v))
		h.text(verdictLabel(j, v))
		h.raw("</span></td><td>")
		h.text(j.Status)
		h.rawf("</td><td class=\"%s\">%v</td>", yesNoClass(!j.Deviated), j.Deviated)
		h.stateCell(j.SteadyStates.Before)
		h.stateCell(j.SteadyStates.After)
		checks, missed := DuringCounts(j.SteadyStates.During)
		h.rawf("<td>%d/%d</td><td>%d</td><td>", missed, checks, countFailed(j.Run))
		h.text(humanTime(j.Start))
		h.raw("</td><td>")
		h.text(formatSeconds(j.Duration))
		h.raw("</td></tr>\n")
	}
	h.raw("</table>\n")
}

func (h *htmlWriter) stateCell(s *State) {
	switch {
	case s == nil:
		h.raw("<td class=\"muted\">not run</td>")
	case s.SteadyStateMet:
		h.raw("<td class=\"yes\">met</td>")
	default:
		h.raw("<td class=\"no\">not met</td>")
	}
}

func yesNoClass(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// verdictClass is the CSS class of a verdict; a completed run whose steady state was not met
// before the method is shown as inconclusive.
func verdictClass(j *Journal, v Verdict) string {
	if v.Name == "completed" && j.SteadyStates.Before != nil && !j.SteadyStates.Before.SteadyStateMet {
		return "v-inconclusive"
	}
	return "v-" + v.Name
}

func verdictLabel(j *Journal, v Verdict) string {
	if verdictClass(j, v) == "v-inconclusive" {
		return "completed (inconclusive)"
	}
	return v.Name
}

// humanTime formats a journal time as "2026-01-16 16:51:52 UTC", or returns it as it is when it
// cannot be read.
func humanTime(s string) string {
	t, err := ParseTime(s)
	if err != nil {
		return s
	}
	return t.Format("2006-01-02 15:04:05 UTC")
}

func (h *htmlWriter) journal(j *Journal, idx int, multi bool) {
	prefix := fmt.Sprintf("j%d-", idx)
	v := VerdictOf(j)
	h.rawf("<section class=\"journal\" id=\"j%d\">\n<h1>", idx)
	if multi {
		h.rawf("%d. ", idx+1)
	}
	if t := j.Title(); t != "" {
		h.text(t)
	} else {
		h.raw("(untitled experiment)")
	}
	h.raw("</h1>\n")
	if d, ok := j.Experiment.Value("description").(string); ok && d != "" {
		h.raw("<p>")
		h.text(d)
		h.raw("</p>\n")
	}
	h.rawf("<div class=\"verdict %s\" data-verdict=\"%s\"><b>", verdictClass(j, v), html.EscapeString(v.Name))
	h.text(verdictLabel(j, v))
	h.raw("</b>")
	h.text(v.Words)
	h.raw("</div>\n")

	h.facts(j)
	h.configuration(j)

	h.raw("<h2>Timeline</h2>\n")
	tl := buildTimeline(j, prefix)
	h.svg(tl)

	h.phase("Steady state before the method", j.SteadyStates.Before, tl, laneBefore)
	h.runs("Method", tl, laneMethod, len(j.Run) == 0, "The method did not run.")
	h.during(j, tl)
	h.phase("Steady state after the method", j.SteadyStates.After, tl, laneAfter)
	h.runs("Rollbacks", tl, laneRollbacks, len(j.Rollbacks) == 0, "No rollback ran.")
	h.raw("</section>\n")
}

func (h *htmlWriter) facts(j *Journal) {
	h.raw("<table class=\"facts\">\n")
	row := func(k, v string) {
		h.raw("<tr><td>")
		h.text(k)
		h.raw("</td><td>")
		h.text(v)
		h.raw("</td></tr>\n")
	}
	row("status", j.Status)
	row("deviated", fmt.Sprint(j.Deviated))
	row("start", humanTime(j.Start))
	row("end", humanTime(j.End))
	row("duration", formatSeconds(j.Duration))
	if dry, ok := j.Experiment.Get("dry"); ok && dry != nil {
		row("dry", fmt.Sprint(dry))
	}
	row("chaoslib", j.ChaoslibVersion)
	row("platform", j.Platform)
	row("node", j.Node)
	if tags, ok := j.Experiment.Value("tags").([]any); ok && len(tags) > 0 {
		parts := make([]string, 0, len(tags))
		for _, t := range tags {
			parts = append(parts, fmt.Sprint(t))
		}
		row("tags", strings.Join(parts, ", "))
	}
	h.raw("</table>\n")
}

func (h *htmlWriter) configuration(j *Journal) {
	config, secrets := redactExperiment(j.Experiment)
	h.raw("<h2>Configuration</h2>\n")
	if config == nil && secrets == nil {
		h.raw("<p class=\"muted\">No configuration or secrets.</p>\n")
		return
	}
	if config != nil {
		h.raw("<h3>configuration</h3>\n")
		h.jsonBlock(config, 0)
	}
	if secrets != nil {
		h.raw("<h3>secrets <span class=\"secret\">(values masked)</span></h3>\n")
		h.jsonBlock(secrets, 0)
	}
}

// Geometry of the timeline SVG, in user units (the SVG scales to its column's width).
const (
	svgLabelW  = 150.0
	svgRight   = 12.0
	svgRowH    = 18.0
	svgRowGap  = 3.0
	svgLanePad = 6.0
	svgAxisH   = 22.0
)

func (h *htmlWriter) svg(tl *timeline) {
	svgWidth := h.svgW
	plotW := svgWidth - svgLabelW - svgRight
	x := func(t float64) float64 { return svgLabelW + t/tl.span*plotW }

	var laneY [laneCount + 1]float64
	y := svgAxisH
	for lane := 0; lane < laneCount; lane++ {
		laneY[lane] = y
		y += 2*svgLanePad + float64(tl.rows[lane])*(svgRowH+svgRowGap) - svgRowGap
	}
	laneY[laneCount] = y
	height := y + 4

	h.rawf("<svg class=\"timeline\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"timeline\" data-records=\"%d\">\n", svgWidth, height, len(tl.records))
	// Axis and grid.
	step := 1.0
	if tl.timed {
		step = niceStep(tl.span)
	} else {
		step = math0(niceStep(tl.span))
	}
	for t, n := 0.0, 0; t <= tl.span+step*1e-6 && n < 50; t, n = t+step, n+1 {
		px := x(t)
		h.rawf("<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", px, svgAxisH-4, px, laneY[laneCount])
		label := formatTick(t, step)
		if !tl.timed {
			label = fmt.Sprintf("#%.0f", t)
		}
		h.rawf("<text class=\"tick\" x=\"%.1f\" y=\"14\" text-anchor=\"middle\">%s</text>\n", px, html.EscapeString(label))
	}
	if !tl.timed {
		h.rawf("<text class=\"tick\" x=\"4\" y=\"14\">in order (times unknown)</text>\n")
	}
	// Lanes.
	counts := [laneCount]int{}
	for _, rec := range tl.records {
		counts[rec.lane]++
	}
	for lane := 0; lane < laneCount; lane++ {
		h.rawf("<line class=\"lane-sep\" x1=\"0\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>", laneY[lane+1], svgWidth, laneY[lane+1])
		mid := (laneY[lane] + laneY[lane+1]) / 2
		h.rawf("<text class=\"lane-label\" x=\"6\" y=\"%.1f\" dominant-baseline=\"middle\">%s</text>\n", mid, laneNames[lane])
		if counts[lane] == 0 {
			h.rawf("<text class=\"none\" x=\"%.1f\" y=\"%.1f\" dominant-baseline=\"middle\">not run</text>\n", svgLabelW+6, mid)
		}
	}
	// Bars, problems drawn last so that neighbours in a dense lane do not hide them.
	for _, pass := range []string{"ok", "missed", "aborted", "failed"} {
		for _, rec := range tl.records {
			if rec.outcome() == pass {
				h.bar(rec, x, laneY[rec.lane], svgWidth-svgRight)
			}
		}
	}
	h.raw("</svg>\n")
	h.raw("<div class=\"legend\"><span><i style=\"background:var(--probe)\"></i>probe</span><span><i style=\"background:var(--action)\"></i>action</span><span><i style=\"background:var(--miss)\"></i>tolerance missed</span><span><i style=\"background:var(--fail)\"></i>failed ✕</span><span><i style=\"background:#afb8c1\"></i>stopped midway</span></div>\n")
}

// bar draws one record's bar, linked to its details, with its name when it fits.
func (h *htmlWriter) bar(rec *record, x func(float64) float64, laneTop, plotRight float64) {
	x0 := x(rec.from)
	w := x(rec.to) - x0
	thin := ""
	if w < 3 {
		thin = " thin"
	}
	if w < 2 {
		w = 2
	}
	by := laneTop + svgLanePad + float64(rec.row)*(svgRowH+svgRowGap)
	out := rec.outcome()
	typ := rec.run.Type()
	if typ != "action" {
		typ = "probe"
	}
	h.rawf("<a href=\"#%s\"><rect class=\"bar %s %s%s\" data-outcome=\"%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.0f\" rx=\"2\"><title>", rec.id, typ, out, thin, out, x0, by, w, svgRowH)
	h.text(rec.run.Name())
	h.rawf(" (%s, %s) — %s, %s", typ, rec.phase, statusWords(rec.run), formatSeconds(rec.run.Duration))
	h.raw("</title></rect>")
	name := rec.run.Name()
	textW := float64(utf8.RuneCountInString(name))*6.2 + 10
	room := plotRight - (x0 + w)
	if rec.next >= 0 {
		room = x(rec.next) - (x0 + w)
	}
	switch {
	case w > textW+4:
		h.rawf("<text class=\"bar-label\" x=\"%.1f\" y=\"%.1f\" dominant-baseline=\"middle\">", x0+4, by+svgRowH/2)
		h.text(name)
		h.raw("</text>")
	case room > textW:
		h.rawf("<text class=\"bar-label out\" x=\"%.1f\" y=\"%.1f\" dominant-baseline=\"middle\">", x0+w+4, by+svgRowH/2)
		h.text(name)
		h.raw("</text>")
	}
	if out == "failed" && w >= 8 {
		h.rawf("<text class=\"mark\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" dominant-baseline=\"middle\">✕</text>", x0+w-2, by+svgRowH/2)
	}
	h.raw("</a>\n")
}

// math0 keeps unit steps whole for the in-order axis.
func math0(step float64) float64 {
	if step < 1 {
		return 1
	}
	return step
}

// statusWords describes how a record ended.
func statusWords(r *Run) string {
	s := r.Status
	if s == "" {
		s = "stopped midway (no status)"
	}
	if r.ToleranceMet != nil {
		if *r.ToleranceMet {
			s += ", tolerance met"
		} else {
			s += ", tolerance not met"
		}
	}
	return s
}

func (h *htmlWriter) phase(title string, s *State, tl *timeline, lane int) {
	h.raw("<h2>")
	h.text(title)
	h.raw("</h2>\n")
	if s == nil {
		h.raw("<p class=\"muted\">Not run.</p>\n")
		return
	}
	if s.SteadyStateMet {
		h.raw("<p>Steady state <b>met</b>.</p>\n")
	} else {
		h.raw("<p>Steady state <b>not met</b>.</p>\n")
	}
	for _, rec := range tl.records {
		if rec.lane == lane {
			h.activity(rec)
		}
	}
}

func (h *htmlWriter) runs(title string, tl *timeline, lane int, empty bool, none string) {
	h.raw("<h2>")
	h.text(title)
	h.raw("</h2>\n")
	if empty {
		h.raw("<p class=\"muted\">")
		h.text(none)
		h.raw("</p>\n")
		return
	}
	for _, rec := range tl.records {
		if rec.lane == lane {
			h.activity(rec)
		}
	}
}

func (h *htmlWriter) during(j *Journal, tl *timeline) {
	if len(j.SteadyStates.During) == 0 {
		return
	}
	checks, missed := DuringCounts(j.SteadyStates.During)
	h.raw("<h2>Steady state during the method</h2>\n")
	h.rawf("<details%s><summary>%d %s, %d missed</summary>\n", openIf(len(j.SteadyStates.During) <= 5), checks, plural(checks, "check", "checks"), missed)
	for _, rec := range tl.records {
		if rec.lane == laneDuring {
			h.activity(rec)
		}
	}
	h.raw("</details>\n")
}

func openIf(b bool) string {
	if b {
		return " open"
	}
	return ""
}

// foldLines is the number of lines above which an output is folded.
const foldLines = 25

func (h *htmlWriter) activity(rec *record) {
	r := rec.run
	out := rec.outcome()
	typ := r.Type()
	h.rawf("<details class=\"activity %s %s\" id=\"%s\"%s><summary><b>", html.EscapeString(typ), out, rec.id, openIf(out == "failed"))
	h.text(r.Name())
	h.raw("</b> <span class=\"muted\">")
	h.text(typ)
	if rec.lane == laneDuring {
		h.raw(", ")
		h.text(rec.phase)
	}
	h.raw(", ")
	h.text(formatSeconds(r.Duration))
	h.raw("</span>")
	badge := map[string]string{"ok": "b-ok", "failed": "b-failed", "missed": "b-missed", "aborted": "b-aborted"}[out]
	h.rawf("<span class=\"badge %s\">", badge)
	h.text(statusWords(r))
	h.raw("</span></summary>\n")

	if prov, ok := r.Activity.Get("provider"); ok {
		h.raw("<h3>provider</h3>\n")
		h.jsonBlock(redactByName(prov), foldLines)
	}
	if tol, ok := r.Activity.Get("tolerance"); ok {
		h.raw("<h3>tolerance")
		if r.ToleranceMet != nil {
			if *r.ToleranceMet {
				h.raw(" — met")
			} else {
				h.raw(" — <b>not met</b>")
			}
		}
		h.raw("</h3>\n")
		h.jsonBlock(tol, foldLines)
	}
	if r.Status != RunFailed || r.Output != nil {
		h.raw("<h3>output</h3>\n")
		h.jsonBlock(r.Output, foldLines)
	}
	if len(r.Exception) > 0 {
		h.raw("<h3>exception</h3>\n<pre class=\"exception\">")
		h.text(r.ExceptionMessage())
		h.raw("</pre>\n")
		if len(r.Exception) > 1 {
			h.raw("<details><summary>traceback</summary><pre>")
			h.text(strings.Join(r.Exception, ""))
			h.raw("</pre></details>\n")
		}
	}
	h.rawf("<p class=\"muted\">%s → %s</p>\n", html.EscapeString(humanTimeMicro(r.Start)), html.EscapeString(humanTimeMicro(r.End)))
	h.raw("</details>\n")
}

func humanTimeMicro(s string) string {
	t, err := ParseTime(s)
	if err != nil {
		return s
	}
	return t.Format("15:04:05.000000")
}

// jsonBlock writes v as pretty JSON in a <pre>, folded in a <details> when it has more than
// fold lines (fold 0 never folds).
func (h *htmlWriter) jsonBlock(v any, fold int) {
	b, err := appendPrettyJSON(h.scratch[:0], v, 0)
	if err != nil {
		b = fmt.Appendf(b[:0], "(cannot show as JSON: %v)", err)
	}
	h.scratch = b
	lines := bytes.Count(b, []byte("\n")) + 1
	folded := fold > 0 && lines > fold
	if folded {
		h.rawf("<details><summary>%d lines</summary>", lines)
	}
	h.raw("<pre>")
	h.escaped(b)
	h.raw("</pre>")
	if folded {
		h.raw("</details>")
	}
	h.raw("\n")
}

// escaped writes b escaped for HTML text, as html.EscapeString does, without converting it to
// a string first.
func (h *htmlWriter) escaped(b []byte) {
	start := 0
	for i, c := range b {
		var esc string
		switch c {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '\'':
			esc = "&#39;"
		case '"':
			esc = "&#34;"
		default:
			continue
		}
		if h.err == nil {
			_, h.err = h.w.Write(b[start:i])
		}
		h.raw(esc)
		start = i + 1
	}
	if h.err == nil {
		_, h.err = h.w.Write(b[start:])
	}
}
