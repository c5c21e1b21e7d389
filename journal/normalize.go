package journal

import (
	"regexp"
	"strings"
	"sync"

	"github.com/chaostest/chaostest/jsonvalue"
)

// Placeholders that Normalize writes in place of values that change from run to run.
const (
	MaskedTime            = "<time>"
	MaskedNode            = "<node>"
	MaskedPlatform        = "<platform>"
	MaskedChaoslibVersion = "<chaoslib-version>"
)

// Normalize returns a deep copy of j with everything that changes from one run of the same
// experiment to the next replaced by fixed text, so two journals of runs that behaved alike
// compare equal, and a go-snaps snapshot of a journal is stable. j is not modified.
//
// Exactly what is masked:
//
//   - "chaoslib-version", "platform" and "node" become "<chaoslib-version>", "<platform>" and
//     "<node>".
//   - Every "start" and "end" (of the journal and of every activity record), and the "first" and
//     "last" of a folded during record, become "<time>" ("count" is kept);
//     every "duration" becomes 0.
//   - An "exception" keeps only its last non-empty line (the message, e.g.
//     "chaoslib.exceptions.ActivityFailed: ...\n"); the traceback lines before it are dropped.
//   - In an HTTP output (an object with "status", "headers" and "body"), the headers Date,
//     Expires, Last-Modified and Age (any letter case) become "<time>".
//   - In every string anywhere in the journal (experiment, activities, outputs, exception
//     message; object keys are left alone), by these rules applied in this order:
//     1. timestamps (2006-01-02T15:04:05 with optional fraction and zone; a space instead of
//     the T also counts) become "<time>";
//     2. UUIDs become "<uuid>";
//     3. hexadecimal addresses of 6 digits or more (0x7f3a2c1b9e80) become "0x<addr>";
//     4. the port after an IP address, "localhost" or "[::1]" (127.0.0.1:41234) becomes
//     "<port>"; ports after DNS names (greeter.default.svc:8080) are kept;
//     5. IPv4 addresses other than 127.0.0.1 and 0.0.0.0 become "<ip>";
//     6. Kubernetes generated names: a Deployment's pod "greeter-7d9f8c6b5-x2k4q" becomes
//     "greeter-<hash>-<id>"; a ReplicaSet "greeter-7d9f8c6b5" becomes "greeter-<hash>" (when
//     the hash has 6 to 10 characters, at least one digit and one letter); a generateName suffix
//     "chaos-x2k4q" becomes "chaos-<id>" (5 characters with at least one digit and one
//     letter). The characters must be from Kubernetes' random alphabet
//     ("bcdfghjklmnpqrstvwxz2456789", no vowels), so ordinary words are not touched.
//
// Statuses, deviated, tolerance_met, steady_state_met, activity names, and outputs otherwise are
// kept as they are. Outputs and activities holding Go values (structs, typed slices and maps)
// are first turned into the values Parse would give for their JSON, so an in-memory journal
// normalises like the same journal read from a file. Normalize is deterministic and idempotent.
func Normalize(j *Journal) *Journal {
	if j == nil {
		return nil
	}
	n := &Journal{
		ChaoslibVersion: MaskedChaoslibVersion,
		Platform:        MaskedPlatform,
		Node:            MaskedNode,
		Status:          j.Status,
		Deviated:        j.Deviated,
	}
	if j.Start != "" {
		n.Start = MaskedTime
	}
	if j.End != "" {
		n.End = MaskedTime
	}
	m := &masker{}
	if j.Experiment != nil {
		n.Experiment, _ = m.value(j.Experiment.Clone()).(*jsonvalue.Object)
	}
	n.SteadyStates.Before = m.state(j.SteadyStates.Before)
	n.SteadyStates.After = m.state(j.SteadyStates.After)
	if j.SteadyStates.During != nil {
		n.SteadyStates.During = make([]*State, len(j.SteadyStates.During))
		for i, s := range j.SteadyStates.During {
			n.SteadyStates.During[i] = m.state(s)
		}
	}
	n.Run = m.runs(j.Run)
	n.Rollbacks = m.runs(j.Rollbacks)
	return n
}

func (m *masker) state(s *State) *State {
	if s == nil {
		return nil
	}
	n := &State{SteadyStateMet: s.SteadyStateMet, Probes: m.runs(s.Probes), Count: s.Count}
	if s.First != "" {
		n.First = MaskedTime
	}
	if s.Last != "" {
		n.Last = MaskedTime
	}
	return n
}

func (m *masker) runs(rs []*Run) []*Run {
	if rs == nil {
		return nil
	}
	out := make([]*Run, len(rs))
	for i, r := range rs {
		out[i] = m.run(r)
	}
	return out
}

func (m *masker) run(r *Run) *Run {
	if r == nil {
		return nil
	}
	n := &Run{Status: r.Status}
	if r.Activity != nil {
		n.Activity, _ = m.value(generic(r.Activity.Clone())).(*jsonvalue.Object)
	}
	n.Output = m.value(maskHTTPHeaders(generic(jsonvalue.Clone(r.Output))))
	if r.Start != "" {
		n.Start = MaskedTime
	}
	if r.End != "" {
		n.End = MaskedTime
	}
	if r.Exception != nil {
		n.Exception = []string{}
		if msg := lastLine(r.Exception); msg != "" {
			n.Exception = []string{m.str(msg)}
		}
	}
	if r.ToleranceMet != nil {
		v := *r.ToleranceMet
		n.ToleranceMet = &v
	}
	return n
}

// lastLine returns the last exception entry with text, with its own trailing newline kept.
func lastLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			// An entry may hold several lines (a formatted traceback frame); keep the last.
			s := strings.TrimRight(lines[i], "\n")
			if k := strings.LastIndexByte(s, '\n'); k >= 0 {
				s = s[k+1:]
			}
			return s + "\n"
		}
	}
	return ""
}

// generic returns v made only of the values Parse produces (*jsonvalue.Object, []any, string, bool,
// int64, float64, nil), so that outputs a Go provider returned as its own types (structs,
// []string, map[string]int) are masked and compared like those read from a file. A value that
// cannot be turned into JSON is returned as it is.
func generic(v any) any {
	if isGeneric(v) {
		return v
	}
	raw, err := jsonvalue.Marshal(v)
	if err != nil {
		return v
	}
	g, err := jsonvalue.Decode(raw)
	if err != nil {
		return v
	}
	return g
}

func isGeneric(v any) bool {
	switch x := v.(type) {
	case nil, string, bool, int64, float64:
		return true
	case *jsonvalue.Object:
		for _, k := range x.Keys() {
			if !isGeneric(x.Value(k)) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !isGeneric(e) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// volatileHeaders are the HTTP response headers whose values are masked by Normalize.
var volatileHeaders = map[string]bool{"date": true, "expires": true, "last-modified": true, "age": true}

// maskHTTPHeaders masks the volatile headers of an HTTP provider output in place.
func maskHTTPHeaders(v any) any {
	o, ok := v.(*jsonvalue.Object)
	if !ok || !o.Has("status") || !o.Has("body") {
		return v
	}
	h, ok := o.Value("headers").(*jsonvalue.Object)
	if !ok {
		return v
	}
	for _, k := range h.Keys() {
		if volatileHeaders[strings.ToLower(k)] {
			h.Set(k, MaskedTime)
		}
	}
	return v
}

// MaskValue applies MaskString to every string inside v (a JSON value made of *jsonvalue.Object, []any,
// map[string]any and scalars), in place where v is a container, and returns the result.
func MaskValue(v any) any {
	return (&masker{}).value(v)
}

// masker masks values, remembering the strings it has seen: a journal repeats the same
// activity definitions and outputs many times.
type masker struct {
	memo map[string]string
}

func (m *masker) value(v any) any {
	switch x := v.(type) {
	case string:
		return m.str(x)
	case *jsonvalue.Object:
		for _, k := range x.Keys() {
			x.Set(k, m.value(x.Value(k)))
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = m.value(e)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = m.value(e)
		}
		return x
	default:
		return v
	}
}

func (m *masker) str(s string) string {
	if !hasDigit(s) {
		return s
	}
	if r, ok := m.memo[s]; ok {
		return r
	}
	r := MaskString(s)
	if m.memo == nil {
		m.memo = make(map[string]string)
	}
	if len(m.memo) < 1<<16 {
		m.memo[s] = r
	}
	return r
}

const k8sAlphabet = "bcdfghjklmnpqrstvwxz2456789"

var (
	reTimestamp = lazyRegexp(`\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?`)
	reUUID      = lazyRegexp(`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`)
	reHexAddr   = lazyRegexp(`\b0x[0-9a-fA-F]{6,}\b`)
	rePort      = lazyRegexp(`((?:\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})|\blocalhost|\[[0-9a-fA-F:.]+\]|<ip>):\d{1,5}\b`)
	reIPv4      = lazyRegexp(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)
	rePodName   = lazyRegexp(`\b([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)-([` + k8sAlphabet + `]{6,10})-([` + k8sAlphabet + `]{5})\b`)
	reRSName    = lazyRegexp(`\b([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)-([` + k8sAlphabet + `]{6,10})\b`)
	reGenName   = lazyRegexp(`\b([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)-([` + k8sAlphabet + `]{5})\b`)
)

// MaskString masks the volatile parts of one string by the rules listed on Normalize.
func MaskString(s string) string {
	// Every rule needs a digit; each has a cheap pre-check before its regular expression.
	if !hasDigit(s) {
		return s
	}
	dash := strings.IndexByte(s, '-') >= 0
	colon := strings.IndexByte(s, ':') >= 0
	if dash && colon {
		s = reTimestamp().ReplaceAllString(s, MaskedTime)
	}
	if dash {
		s = reUUID().ReplaceAllString(s, "<uuid>")
	}
	if strings.Contains(s, "0x") {
		s = reHexAddr().ReplaceAllString(s, "0x<addr>")
	}
	if colon {
		s = rePort().ReplaceAllString(s, "$1:<port>")
	}
	if strings.IndexByte(s, '.') >= 0 {
		s = reIPv4().ReplaceAllStringFunc(s, func(ip string) string {
			if ip == "127.0.0.1" || ip == "0.0.0.0" {
				return ip
			}
			return "<ip>"
		})
	}
	if !dash {
		return s
	}
	s = rePodName().ReplaceAllString(s, "$1-<hash>-<id>")
	s = reRSName().ReplaceAllStringFunc(s, func(m string) string {
		i := strings.LastIndexByte(m, '-')
		if suf := m[i+1:]; hasDigit(suf) && hasLetter(suf) {
			return m[:i] + "-<hash>"
		}
		return m
	})
	s = reGenName().ReplaceAllStringFunc(s, func(m string) string {
		i := strings.LastIndexByte(m, '-')
		if suf := m[i+1:]; hasDigit(suf) && hasLetter(suf) {
			return m[:i] + "-<id>"
		}
		return m
	})
	return s
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'a' && s[i] <= 'z' {
			return true
		}
	}
	return false
}

// lazyRegexp compiles expr on first use, so that package initialisation stays cheap for
// commands that never need it (chaostest version starts in a few milliseconds).
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
