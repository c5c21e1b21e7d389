package journal

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/chaostest/chaostest/jsonvalue"
)

// countRecords counts the activity records of a journal.
func countRecords(j *Journal) (all, failed int) {
	add := func(rs []*Run) {
		for _, r := range rs {
			all++
			if r.Status == RunFailed {
				failed++
			}
		}
	}
	if j.SteadyStates.Before != nil {
		add(j.SteadyStates.Before.Probes)
	}
	for _, s := range j.SteadyStates.During {
		add(s.Probes)
	}
	if j.SteadyStates.After != nil {
		add(j.SteadyStates.After.Probes)
	}
	add(j.Run)
	add(j.Rollbacks)
	return all, failed
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

// walk calls f for every element node under n.
func walk(n *html.Node, f func(*html.Node)) {
	if n.Type == html.ElementNode {
		f(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

// externalRef matches an attribute or CSS reference that would load something from outside the
// file: any src, a link or script element, an href or url() with a scheme or "//".
var externalRef = regexp.MustCompile(`(?i)(\bsrc\s*=|<link\b|<script\b|<iframe\b|<img\b|@import|\bhref\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:|//)|url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:|//))`)

type htmlReport struct {
	doc    *html.Node
	text   string
	svgs   []*html.Node
	bars   []*html.Node // rect.bar inside an svg.timeline
	ids    map[string]bool
	hrefs  []string
	failed []*html.Node
}

func renderAndParse(t testing.TB, js ...*Journal) *htmlReport {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, RenderHTML(&b, js...))
	r := &htmlReport{text: b.String(), ids: map[string]bool{}}
	doc, err := html.Parse(strings.NewReader(r.text))
	require.NoError(t, err)
	r.doc = doc
	walk(doc, func(n *html.Node) {
		if id := attr(n, "id"); id != "" {
			if r.ids[id] {
				t.Errorf("duplicate id %q", id)
			}
			r.ids[id] = true
		}
		if n.Data == "a" {
			r.hrefs = append(r.hrefs, attr(n, "href"))
		}
		if n.Data == "svg" && hasClass(n, "timeline") {
			r.svgs = append(r.svgs, n)
			walk(n, func(m *html.Node) {
				if m.Data == "rect" && hasClass(m, "bar") {
					r.bars = append(r.bars, m)
					if hasClass(m, "failed") {
						r.failed = append(r.failed, m)
					}
				}
			})
		}
	})
	return r
}

func TestRenderHTMLStructure(t *testing.T) {
	for _, path := range allJournals(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			j := mustRead(t, path)
			r := renderAndParse(t, j)
			all, failed := countRecords(j)
			require.Len(t, r.svgs, 1, "one timeline per journal")
			assert.Equal(t, fmt.Sprint(all), attr(r.svgs[0], "data-records"))
			assert.Len(t, r.bars, all, "one bar per activity record")
			assert.Len(t, r.failed, failed, "every failed record, and only those, has a failed bar")
			assert.Equal(t, failed, strings.Count(r.text, `<text class="mark"`), "failed bars carry a cross")
			for _, bar := range r.bars {
				assert.NotEmpty(t, attr(bar, "width"))
				assert.Equal(t, "a", bar.Parent.Data, "each bar links to its details")
				assert.True(t, r.ids[strings.TrimPrefix(attr(bar.Parent, "href"), "#")], "bar link %q has no target", attr(bar.Parent, "href"))
			}
			assert.Nil(t, externalRef.FindStringIndex(r.text), "the report must not load anything from outside: %q", externalRef.FindString(r.text))
			for _, h := range r.hrefs {
				assert.True(t, strings.HasPrefix(h, "#"), "only in-page links, got %q", h)
			}
			v := VerdictOf(j)
			assert.Contains(t, r.text, fmt.Sprintf(`data-verdict="%s"`, v.Name))
			assert.Contains(t, r.text, html.EscapeString(v.Words))
			assert.Contains(t, r.text, "<title>"+html.EscapeString(j.Title())+"</title>")
		})
	}
}

func TestRenderHTMLMarksOutcomes(t *testing.T) {
	r := renderAndParse(t, readOwn(t, "continuous-deviated.json"))
	outcomes := map[string]int{}
	for _, b := range r.bars {
		outcomes[attr(b, "data-outcome")]++
	}
	// 1 before + 6 during + 1 after probes, 2 method actions, 1 rollback; the method's second
	// action raised, 2 during checks and the after check missed.
	assert.Equal(t, map[string]int{"ok": 7, "missed": 3, "failed": 1}, outcomes)
	assert.Contains(t, r.text, `<div class="verdict v-deviated" data-verdict="deviated">`)
	// The failed activity's details are open and show the message and the traceback.
	assert.Contains(t, r.text, `<details class="activity action failed" id="j0-run-1" open>`)
	assert.Contains(t, r.text, "chaoslib.exceptions.ActivityFailed: process &#39;kubectl&#39; timed out")
	assert.Contains(t, r.text, "<summary>traceback</summary>")

	aborted := renderAndParse(t, readOwn(t, "ctk-old-aborted.json"))
	outs := map[string]string{}
	for _, b := range aborted.bars {
		outs[attr(b.Parent, "href")] = attr(b, "data-outcome")
	}
	assert.Equal(t, map[string]string{"#j0-before-0": "ok", "#j0-run-0": "aborted", "#j0-rollback-0": "ok"}, outs)
	// Problems are drawn last, so dense neighbours do not cover them.
	assert.Equal(t, "aborted", attr(aborted.bars[len(aborted.bars)-1], "data-outcome"))
	assert.Contains(t, aborted.text, "stopped midway (no status)")
}

func TestRenderHTMLPlacesBarsByTime(t *testing.T) {
	r := renderAndParse(t, readOwn(t, "chaostest-completed.json"))
	byID := map[string]*html.Node{}
	for _, b := range r.bars {
		byID[strings.TrimPrefix(attr(b.Parent, "href"), "#")] = b
	}
	x := func(id string) float64 {
		var v float64
		_, err := fmt.Sscan(attr(byID[id], "x"), &v)
		require.NoError(t, err)
		return v
	}
	y := func(id string) string { return attr(byID[id], "y") }
	w := func(id string) float64 {
		var v float64
		_, err := fmt.Sscan(attr(byID[id], "width"), &v)
		require.NoError(t, err)
		return v
	}
	assert.Less(t, x("j0-before-0"), x("j0-run-0"))
	assert.Less(t, x("j0-run-0"), x("j0-after-0"))
	assert.Less(t, x("j0-after-0"), x("j0-rollback-0"))
	// The background action overlaps the pause: they get separate rows of the method lane.
	assert.NotEqual(t, y("j0-run-0"), y("j0-run-1"))
	assert.Equal(t, y("j0-run-0"), y("j0-run-2"))
	// Width follows duration: the 1.01 s pause is about 2.8 times the 0.36 s action.
	assert.InDelta(t, 1.009/0.36, w("j0-run-1")/w("j0-run-0"), 0.05)
}

func TestRenderHTMLMasksSecrets(t *testing.T) {
	r := renderAndParse(t, readOwn(t, "chaostest-completed.json"))
	for _, secret := range []string{"hunter2", "s3cr3t-value", "BEGIN KEY", "Bearer"} {
		assert.NotContains(t, r.text, secret)
	}
	// Names stay visible; environment references keep their variable name.
	for _, visible := range []string{"db_password", "GREETER_API_TOKEN", "GREETER_TOKEN", "private_key", `&#34;region&#34;: &#34;local&#34;`, `&#34;replicas&#34;: 2`, "Authorization"} {
		assert.Contains(t, r.text, visible)
	}
	assert.Contains(t, r.text, Masked)
}

func TestRedactionRules(t *testing.T) {
	for name, want := range map[string]bool{
		"api_key": true, "Authorization": true, "db-password": true, "SESSION_TOKEN": true, "client_secret": true,
		"privateKey": true, "cookie": true, "credentials": true, "passwd": true,
		"url": false, "replicas": false, "namespace": false, "label_selector": false,
	} {
		assert.Equal(t, want, IsSecretName(name), name)
	}
	cfg := jsonvalue.NewObject("token", jsonvalue.NewObject("type", "env", "key", "TOKEN", "default", "dflt"), "list", []any{jsonvalue.NewObject("password", "p")}, "m", map[string]any{"apikey": "k", "z": int64(1)})
	got := jsonText(redactByName(cfg))
	assert.Equal(t, `{"token":{"type":"env","key":"TOKEN","default":"********"},"list":[{"password":"********"}],"m":{"apikey":"********","z":1}}`, got)
	sec := jsonvalue.NewObject("aws", jsonvalue.NewObject("id", "AKIA", "from", jsonvalue.NewObject("type", "env", "key", "AWS_ID", "env_var_type", "str"), "n", int64(3), "l", []any{"a"}))
	assert.Equal(t, `{"aws":{"id":"********","from":{"type":"env","key":"AWS_ID","env_var_type":"str"},"n":"********","l":["********"]}}`, jsonText(redactSecrets(sec)))
}

func TestRenderHTMLSideBySide(t *testing.T) {
	paths := allJournals(t)
	var js []*Journal
	total := 0
	for _, p := range paths {
		j := mustRead(t, p)
		js = append(js, j)
		n, _ := countRecords(j)
		total += n
	}
	r := renderAndParse(t, js...)
	assert.Len(t, r.svgs, len(js), "one timeline per journal")
	assert.Len(t, r.bars, total)
	assert.Contains(t, r.text, fmt.Sprintf("<h1>Comparison of %d runs</h1>", len(js)))
	assert.Contains(t, r.text, fmt.Sprintf("grid-template-columns:repeat(%d,", len(js)))
	for i := range js {
		assert.True(t, r.ids[fmt.Sprintf("j%d", i)])
	}
	var rows int
	walk(r.doc, func(n *html.Node) {
		if n.Data == "table" && hasClass(n, "compare") {
			walk(n, func(m *html.Node) {
				if m.Data == "tr" {
					rows++
				}
			})
		}
	})
	assert.Equal(t, len(js)+1, rows, "the comparison table has a row per journal")
}

func TestRenderHTMLNormalisedJournalInOrder(t *testing.T) {
	j := Normalize(readOwn(t, "chaostest-completed.json"))
	r := renderAndParse(t, j)
	assert.Len(t, r.bars, 8)
	assert.Contains(t, r.text, "in order (times unknown)")
}

func TestRenderHTMLErrors(t *testing.T) {
	var b bytes.Buffer
	assert.Error(t, RenderHTML(&b))
	assert.Error(t, RenderHTML(&b, readOwn(t, "before-not-met.json"), nil))
	assert.Zero(t, b.Len(), "nothing is written when the arguments are wrong")
}

func TestRenderHTMLEscapes(t *testing.T) {
	j := readOwn(t, "before-not-met.json")
	j.Experiment.Set("title", `<script>alert("x")</script>`)
	j.SteadyStates.Before.Probes[0].Output = `</pre><img src=x onerror=alert(1)>`
	r := renderAndParse(t, j)
	assert.NotContains(t, r.text, "<script>")
	assert.NotContains(t, r.text, "<img")
	assert.Contains(t, r.text, "&lt;script&gt;")
}

// bigJournal returns a during-method journal with n probe records in n checks, every 10th
// missed and every 100th raised, over n*50 ms.
func bigJournal(n int) *Journal {
	start := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return FormatTime(start.Add(d)) }
	probe := jsonvalue.NewObject("type", "probe", "name", "latency-under-200ms", "tolerance", jsonvalue.NewObject("type", "range", "range", []any{int64(0), int64(200)}, "target", "body.latency_ms"),
		"provider", jsonvalue.NewObject("type", "http", "url", "http://127.0.0.1:8080/stats", "timeout", int64(1)))
	j := &Journal{
		ChaoslibVersion: "chaostest v0.1.0", Platform: "linux/amd64", Node: "bench",
		Experiment: jsonvalue.NewObject("title", "A thousand checks during the method", "runtime", jsonvalue.NewObject("hypothesis", jsonvalue.NewObject("strategy", "during-method-only", "frequency", 0.05)), "dry", nil),
		Start:      at(0), Status: StatusCompleted,
	}
	for i := 0; i < n; i++ {
		s := time.Duration(i) * 50 * time.Millisecond
		ms := int64(40 + i%7)
		met := i%10 != 9
		if !met {
			ms = 250
		}
		r := &Run{Activity: probe, Start: at(s), End: at(s + 20*time.Millisecond), Duration: 0.02, Status: RunSucceeded, ToleranceMet: boolp(met),
			Output: jsonvalue.NewObject("status", int64(200), "headers", jsonvalue.NewObject("Content-Type", "application/json"), "body", jsonvalue.NewObject("latency_ms", ms))}
		if i%100 == 99 {
			met = false
			r.Status, r.Output, r.ToleranceMet = RunFailed, nil, boolp(false)
			r.Exception = []string{"Traceback (most recent call last):\n", "chaoslib.exceptions.ActivityFailed: connection refused\n"}
		}
		j.SteadyStates.During = append(j.SteadyStates.During, &State{SteadyStateMet: met, Probes: []*Run{r}})
	}
	total := time.Duration(n) * 50 * time.Millisecond
	j.Run = []*Run{{Activity: jsonvalue.NewObject("type", "action", "name", "inject-latency", "provider", jsonvalue.NewObject("type", "process", "path", "tc")),
		Output: jsonvalue.NewObject("status", int64(0), "stdout", "", "stderr", ""), Start: at(0), End: at(total), Duration: total.Seconds(), Status: RunSucceeded}}
	j.End = at(total + 10*time.Millisecond)
	j.Duration = total.Seconds() + 0.01
	return j
}

func TestRenderHTML1000Probes(t *testing.T) {
	j := bigJournal(1000)
	r := renderAndParse(t, j)
	assert.Len(t, r.bars, 1001)
	assert.Len(t, r.failed, 10)
	assert.Contains(t, r.text, "<summary>1000 checks, 100 missed</summary>")
}

func BenchmarkRenderHTML1000(b *testing.B) {
	j := bigJournal(1000)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := RenderHTML(&buf, j); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/report")
}

func BenchmarkRenderMarkdown1000(b *testing.B) {
	j := bigJournal(1000)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := RenderMarkdown(&buf, j); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRenderSparseJournals(t *testing.T) {
	sparse := []*Journal{
		{},
		{Status: StatusCompleted, Experiment: jsonvalue.NewObject("title", "t")},
		{Status: StatusFailed, SteadyStates: SteadyStates{Before: &State{Probes: []*Run{nil, {}}}, After: &State{}, During: []*State{nil, {Probes: []*Run{nil}}}},
			Run: []*Run{nil, {Activity: jsonvalue.NewObject("name", 5)}}, Rollbacks: []*Run{nil}},
		{Status: "weird", Start: "not a time", End: "2026-01-01T00:00:00Z", Duration: -1},
	}
	for i, j := range sparse {
		var b bytes.Buffer
		require.NoError(t, RenderHTML(&b, j), "journal %d", i)
		_, err := html.Parse(&b)
		require.NoError(t, err)
		b.Reset()
		require.NoError(t, RenderMarkdown(&b, j), "journal %d", i)
		assert.Contains(t, b.String(), "## ", "journal %d", i)
		Diff(j, sparse[2])
		Normalize(j)
	}
	r := renderAndParse(t, sparse...)
	assert.Len(t, r.svgs, len(sparse))
}

func BenchmarkNormalize1000(b *testing.B) {
	j := bigJournal(1000)
	for b.Loop() {
		Normalize(j)
	}
}

func BenchmarkDiff1000(b *testing.B) {
	x, y := bigJournal(1000), bigJournal(1000)
	y.SteadyStates.During[500].Probes[0].Output.(*jsonvalue.Object).Value("body").(*jsonvalue.Object).Set("latency_ms", int64(999))
	for b.Loop() {
		Diff(x, y)
	}
}
