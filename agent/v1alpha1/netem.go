package v1alpha1

import "fmt"

// Chance is a checked percentage with its correlation, both 0 to 100: spec.duplicate,
// spec.corrupt and spec.delay.reorder, drawn per packet as netem draws them.
type Chance struct {
	Percent, Correlation float64
}

// ParseChance reads a percentage and an optional correlation; where names the fields in errors
// ("spec.duplicate", with the field names duplicate/corrupt/reorder given as field).
func ParseChance(where, field, percent, correlation string) (Chance, error) {
	var c Chance
	var err error
	if c.Percent, err = ParsePercent(percent); err != nil {
		return c, fmt.Errorf("%s.%s: %w", where, field, err)
	}
	if correlation != "" {
		if c.Correlation, err = ParsePercent(correlation); err != nil {
			return c, fmt.Errorf("%s.correlation: %w", where, err)
		}
	}
	return c, nil
}

// ParseDuplicate checks spec.duplicate: duplicate is the percentage of packets sent twice.
func ParseDuplicate(d *DuplicateSpec) (Chance, error) {
	if d == nil {
		return Chance{}, fmt.Errorf("spec.duplicate: required for action duplicate")
	}
	return ParseChance("spec.duplicate", "duplicate", d.Duplicate, d.Correlation)
}

// ParseCorrupt checks spec.corrupt: corrupt is the percentage of packets with one bit flipped.
func ParseCorrupt(c *CorruptSpec) (Chance, error) {
	if c == nil {
		return Chance{}, fmt.Errorf("spec.corrupt: required for action corrupt")
	}
	return ParseChance("spec.corrupt", "corrupt", c.Corrupt, c.Correlation)
}

// parseReorder checks spec.delay.reorder: reorder is the percentage of packets sent at once,
// ahead of the delayed ones, gap how many packets are delayed at least between two sent ahead
// (0 is read as 1, as tc does).
func parseReorder(r *ReorderSpec, latency float64) (*Chance, int, error) {
	c, err := ParseChance("spec.delay.reorder", "reorder", r.Reorder, r.Correlation)
	if err != nil {
		return nil, 0, err
	}
	if r.Gap < 0 {
		return nil, 0, fmt.Errorf("spec.delay.reorder.gap %d: must be 0 or more packets", r.Gap)
	}
	if latency <= 0 {
		return nil, 0, fmt.Errorf("spec.delay.reorder: reordering needs a latency above 0 (the packets sent ahead overtake the delayed ones), as tc netem says")
	}
	return &c, max(r.Gap, 1), nil
}
