package journal

import (
	"fmt"
	"math"
	"time"
)

// Lanes of the report timeline, top to bottom.
const (
	laneBefore = iota
	laneMethod
	laneDuring
	laneAfter
	laneRollbacks
	laneCount
)

var laneNames = [laneCount]string{"Steady state before", "Method", "Steady state during", "Steady state after", "Rollbacks"}

// maxRowsPerLane bounds how many rows overlapping bars (background activities) may take in
// one lane; further overlaps share the row that frees first.
const maxRowsPerLane = 6

// record is one activity record placed on the timeline.
type record struct {
	run   *Run
	id    string // HTML id of the record's details, unique within the report
	lane  int
	phase string // "before", "during #3", "method", "after", "rollbacks"
	// from and to are seconds since the timeline's origin.
	from, to float64
	row      int
	// next is where the next record in the same lane and row starts (seconds), or -1 when it
	// is the last one; labels that do not fit inside a bar go after it when there is room.
	next float64
}

// outcome classifies a record for colour and marks: "failed" (the activity raised), "missed"
// (succeeded, tolerance not met), "aborted" (no status: stopped midway) or "ok".
func (r *record) outcome() string {
	switch {
	case r.run.Status == RunFailed:
		return "failed"
	case r.run.Status == "":
		return "aborted"
	case r.run.ToleranceMet != nil && !*r.run.ToleranceMet:
		return "missed"
	default:
		return "ok"
	}
}

// timeline is the laid-out set of records of one journal.
type timeline struct {
	records []*record
	span    float64 // seconds from origin to the last end
	timed   bool    // false when times could not be read and records are placed in order
	rows    [laneCount]int
}

// buildTimeline collects the records of j (ids prefixed by prefix) and places them by their
// start and end times; when any time is missing or unreadable (a normalised journal), records
// are placed one after another with unit length instead.
func buildTimeline(j *Journal, prefix string) *timeline {
	tl := &timeline{timed: true}
	add := func(lane int, phase, id string, r *Run) {
		if r == nil {
			return
		}
		tl.records = append(tl.records, &record{run: r, id: prefix + id, lane: lane, phase: phase})
	}
	if s := j.SteadyStates.Before; s != nil {
		for i, r := range s.Probes {
			add(laneBefore, "before", fmt.Sprintf("before-%d", i), r)
		}
	}
	for i, r := range j.Run {
		add(laneMethod, "method", fmt.Sprintf("run-%d", i), r)
	}
	seen := 0
	for k, s := range j.SteadyStates.During {
		if s == nil {
			continue
		}
		phase := fmt.Sprintf("during #%d", seen+1)
		if n := s.Checks(); n > 1 {
			phase = fmt.Sprintf("during #%d–%d (%d checks with this outcome)", seen+1, seen+n, n)
		}
		seen += s.Checks()
		for i, r := range s.Probes {
			add(laneDuring, phase, fmt.Sprintf("during-%d-%d", k, i), r)
		}
	}
	if s := j.SteadyStates.After; s != nil {
		for i, r := range s.Probes {
			add(laneAfter, "after", fmt.Sprintf("after-%d", i), r)
		}
	}
	for i, r := range j.Rollbacks {
		add(laneRollbacks, "rollbacks", fmt.Sprintf("rollback-%d", i), r)
	}

	origin, ok := parseOptional(j.Start)
	for _, rec := range tl.records {
		start, err1 := ParseTime(rec.run.Start)
		end, err2 := ParseTime(rec.run.End)
		if err1 != nil || err2 != nil {
			tl.timed = false
			break
		}
		if !ok || start.Before(origin) {
			origin, ok = start, true
		}
		rec.from = float64(start.UnixNano()) / 1e9
		rec.to = math.Max(float64(end.UnixNano())/1e9, rec.from)
	}
	if tl.timed && ok {
		o := float64(origin.UnixNano()) / 1e9
		for _, rec := range tl.records {
			rec.from -= o
			rec.to -= o
			tl.span = math.Max(tl.span, rec.to)
		}
		if end, err := ParseTime(j.End); err == nil {
			tl.span = math.Max(tl.span, end.Sub(origin).Seconds())
		}
	} else {
		tl.timed = false
		tl.placeInOrder()
	}
	if tl.span <= 0 {
		tl.span = 1e-3
	}
	tl.packRows()
	return tl
}

// parseOptional parses a journal time, reporting whether it could.
func parseOptional(s string) (time.Time, bool) {
	t, err := ParseTime(s)
	return t, err == nil
}

// placeInOrder lays records out one after another, one unit each: before, then method and
// during side by side, then after, then rollbacks.
func (tl *timeline) placeInOrder() {
	var pos [laneCount]float64
	next := 0.0
	for lane := 0; lane < laneCount; lane++ {
		if lane == laneDuring {
			pos[lane] = pos[laneMethod] - countLane(tl.records, laneMethod)
		} else {
			pos[lane] = next
		}
		for _, rec := range tl.records {
			if rec.lane == lane {
				rec.from, rec.to = pos[lane], pos[lane]+1
				pos[lane]++
			}
		}
		next = math.Max(next, pos[lane])
	}
	tl.span = next
}

func countLane(rs []*record, lane int) float64 {
	n := 0.0
	for _, r := range rs {
		if r.lane == lane {
			n++
		}
	}
	return n
}

// packRows gives overlapping records of a lane separate rows (records arrive in start order
// within a lane for engine-written journals; the packing does not depend on it for
// correctness, only for compactness).
func (tl *timeline) packRows() {
	var ends [laneCount][]float64
	for _, rec := range tl.records {
		rows := ends[rec.lane]
		row := -1
		for i, e := range rows {
			if e <= rec.from+1e-9 {
				row = i
				break
			}
		}
		if row < 0 {
			if len(rows) < maxRowsPerLane {
				rows = append(rows, 0)
				row = len(rows) - 1
			} else {
				row = 0
				for i, e := range rows {
					if e < rows[row] {
						row = i
					}
				}
			}
		}
		rows[row] = math.Max(rows[row], rec.to)
		ends[rec.lane] = rows
		rec.row = row
	}
	for lane := range tl.rows {
		tl.rows[lane] = max(1, len(ends[lane]))
	}
	// Link each record to the next one starting in its row.
	type slot struct{ lane, row int }
	last := map[slot]*record{}
	for _, rec := range tl.records {
		rec.next = -1
	}
	for _, rec := range tl.records {
		k := slot{rec.lane, rec.row}
		if prev := last[k]; prev != nil && (prev.next < 0 || rec.from < prev.next) {
			prev.next = rec.from
		}
		last[k] = rec
	}
}

// niceStep returns a tick interval for an axis of span seconds giving about 5 to 10 ticks.
func niceStep(span float64) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / 8
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

// formatSeconds formats a duration in seconds for people: "850 µs", "12.3 ms", "2.06 s",
// "3 min 4 s".
func formatSeconds(s float64) string {
	switch {
	case s < 0:
		return "-" + formatSeconds(-s)
	case s == 0:
		return "0 s"
	case s < 1e-3:
		return fmt.Sprintf("%.0f µs", s*1e6)
	case s < 1:
		return trimZeros(fmt.Sprintf("%.1f", s*1e3)) + " ms"
	case s < 60:
		return trimZeros(fmt.Sprintf("%.2f", s)) + " s"
	default:
		m := math.Floor(s / 60)
		return fmt.Sprintf("%.0f min %.0f s", m, math.Floor(s-m*60))
	}
}

// formatTick formats an axis tick at t seconds with a step of step seconds.
func formatTick(t, step float64) string {
	switch {
	case t == 0:
		return "0"
	case step < 1e-3:
		return trimZeros(fmt.Sprintf("%.3f", t*1e3)) + " ms"
	case step < 0.1:
		return trimZeros(fmt.Sprintf("%.1f", t*1e3)) + " ms"
	case step < 1:
		return trimZeros(fmt.Sprintf("%.1f", t)) + " s"
	default:
		return trimZeros(fmt.Sprintf("%.0f", t)) + " s"
	}
}

func trimZeros(s string) string {
	for len(s) > 1 && s[len(s)-1] == '0' && containsDot(s) {
		s = s[:len(s)-1]
	}
	if len(s) > 1 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

func containsDot(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return true
		}
	}
	return false
}
