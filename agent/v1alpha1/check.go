package v1alpha1

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// ErrNotSupported marks a spec the chaostest agent cannot serve yet (the netem action, or a
// field such as device); Check's error wraps it.
var ErrNotSupported = errors.New("not supported by the chaostest agent yet")

// Supported reports whether the chaostest agent serves action.
func Supported(action NetworkChaosAction) bool {
	return action == LossAction || action == PartitionAction || action == DelayAction || action == BandwidthAction ||
		action == DuplicateAction || action == CorruptAction
}

// Bandwidth is a checked spec.bandwidth: Rate in bytes per second, Limit and Buffer in bytes.
type Bandwidth struct {
	Rate          uint64
	Limit, Buffer uint32
}

// rateUnits are tc's rate units, as Chaos Mesh reads spec.bandwidth.rate: "bit" units count
// bits and "bps" units bytes per second, with decimal multiples (tc's "kbit" is 1000 bit/s).
var rateUnits = []struct {
	suffix string
	bytes  float64
}{
	{"tbit", 1e12 / 8}, {"gbit", 1e9 / 8}, {"mbit", 1e6 / 8}, {"kbit", 1e3 / 8}, {"bit", 1.0 / 8},
	{"tbps", 1e12}, {"gbps", 1e9}, {"mbps", 1e6}, {"kbps", 1e3}, {"bps", 1},
}

// ParseRate reads a tc rate such as "1mbps" (one million bytes per second) or "8mbit" (the
// same in bits) and returns bytes per second.
func ParseRate(s string) (uint64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, u := range rateUnits {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v <= 0 {
				break
			}
			if b := v * u.bytes; b >= 1 {
				return uint64(b), nil
			}
			break
		}
	}
	return 0, fmt.Errorf("%q is not a rate such as \"1mbps\" (bytes/s) or \"8mbit\" (units bit, kbit, mbit, gbit, tbit, bps, kbps, mbps, gbps, tbps)", s)
}

// ParseBandwidth checks spec.bandwidth: rate, limit and buffer are required; peakrate and
// minburst are not served yet.
func ParseBandwidth(b *BandwidthSpec) (Bandwidth, error) {
	if b == nil {
		return Bandwidth{}, fmt.Errorf("spec.bandwidth: required for action bandwidth")
	}
	rate, err := ParseRate(b.Rate)
	if err != nil {
		return Bandwidth{}, fmt.Errorf("spec.bandwidth.rate: %w", err)
	}
	if b.Limit == 0 {
		return Bandwidth{}, fmt.Errorf("spec.bandwidth.limit: required, the bytes that may wait in the queue (e.g. 20971520)")
	}
	if b.Buffer == 0 {
		return Bandwidth{}, fmt.Errorf("spec.bandwidth.buffer: required, the bucket size in bytes (e.g. 10000)")
	}
	if b.Peakrate != nil || b.Minburst != nil {
		return Bandwidth{}, fmt.Errorf("spec.bandwidth.peakrate/minburst: %w", ErrNotSupported)
	}
	return Bandwidth{Rate: rate, Limit: b.Limit, Buffer: b.Buffer}, nil
}

// Delay is a checked spec.delay.
type Delay struct {
	Latency, Jitter time.Duration
	// Correlation is a percentage, 0 to 100.
	Correlation float64
	// Reorder, when set, sends that share of the packets at once, ahead of the delayed ones,
	// with at least Gap-1 packets delayed in between (netem's reorder).
	Reorder *Chance `json:",omitempty"`
	Gap     int     `json:",omitempty"`
}

// ParseDelay checks spec.delay: latency is required (a Go duration such as "10ms", as Chaos
// Mesh reads it), jitter optional (a duration), correlation optional (a percentage), reorder
// optional (reorder and correlation percentages, gap a number of packets).
func ParseDelay(d *DelaySpec) (Delay, error) {
	var out Delay
	if d == nil {
		return out, fmt.Errorf("spec.delay: required for action delay")
	}
	var err error
	if out.Latency, err = parseNonNegDuration(d.Latency); err != nil || d.Latency == "" {
		return out, fmt.Errorf("spec.delay.latency %q: a duration such as \"100ms\" or \"2s\" is required", d.Latency)
	}
	if d.Jitter != "" {
		if out.Jitter, err = parseNonNegDuration(d.Jitter); err != nil {
			return out, fmt.Errorf("spec.delay.jitter %q: not a duration such as \"10ms\"", d.Jitter)
		}
	}
	if d.Correlation != "" {
		if out.Correlation, err = ParsePercent(d.Correlation); err != nil {
			return out, fmt.Errorf("spec.delay.correlation: %w", err)
		}
	}
	if out.Latency > MaxLatency || out.Jitter > MaxLatency {
		return out, fmt.Errorf("spec.delay: latency %s and jitter %s must each be at most %s", out.Latency, out.Jitter, MaxLatency)
	}
	if d.Reorder != nil {
		if out.Reorder, out.Gap, err = parseReorder(d.Reorder, out.Latency.Seconds()); err != nil {
			return out, err
		}
	}
	return out, nil
}

// MaxLatency bounds a delay's latency and jitter: packets are held in the kernel meanwhile.
const MaxLatency = time.Minute

func parseNonNegDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration", s)
	}
	return d, nil
}

// Check validates spec for the chaostest agent: the errors name the field and what was
// expected. Parts of Chaos Mesh's API the agent does not serve give an error wrapping
// ErrNotSupported, never a silent no-op.
func (s *NetworkChaosSpec) Check() error {
	switch s.Action {
	case LossAction:
		if s.Loss == nil {
			return fmt.Errorf("spec.loss: required for action loss")
		}
		if _, err := ParsePercent(s.Loss.Loss); err != nil {
			return fmt.Errorf("spec.loss.loss: %w", err)
		}
		if c := s.Loss.Correlation; c != "" && c != "0" {
			return fmt.Errorf("spec.loss.correlation %q: correlated loss is %w", c, ErrNotSupported)
		}
	case PartitionAction:
		if b := s.PartitionBehavior; b != "" && b != "drop" {
			return fmt.Errorf("spec.partitionBehavior %q: only \"drop\" is %w", b, ErrNotSupported)
		}
	case DelayAction:
		if _, err := ParseDelay(s.Delay); err != nil {
			return err
		}
	case BandwidthAction:
		if _, err := ParseBandwidth(s.Bandwidth); err != nil {
			return err
		}
		// A TBF shapes everything a pod sends; narrowing it to peers, or shaping what it
		// receives, would need classes and filters (or an IFB device).
		if s.Direction != "" && s.Direction != To {
			return fmt.Errorf("spec.direction %q: a bandwidth limit on direction other than \"to\" is %w", s.Direction, ErrNotSupported)
		}
		if s.Target != nil || len(s.ExternalTargets) > 0 {
			return fmt.Errorf("spec.target/externalTargets: a bandwidth limit restricted to peers is %w", ErrNotSupported)
		}
	case DuplicateAction:
		if _, err := ParseDuplicate(s.Duplicate); err != nil {
			return err
		}
	case CorruptAction:
		if _, err := ParseCorrupt(s.Corrupt); err != nil {
			return err
		}
	case NetemAction:
		return fmt.Errorf("spec.action %q: %w (served: loss, partition, delay, bandwidth, duplicate, corrupt)", s.Action, ErrNotSupported)
	case "":
		return fmt.Errorf("spec.action: required (loss, partition, delay, bandwidth, duplicate or corrupt)")
	default:
		return fmt.Errorf("spec.action %q: unknown (Chaos Mesh knows netem, delay, loss, duplicate, corrupt, partition, bandwidth)", s.Action)
	}
	switch s.Direction {
	case "", To, From, Both:
	default:
		return fmt.Errorf("spec.direction %q: must be to, from or both", s.Direction)
	}
	if s.Duration != nil && *s.Duration != "" {
		if _, err := ParseDuration(*s.Duration); err != nil {
			return fmt.Errorf("spec.duration: %w", err)
		}
	}
	for field, v := range map[string]string{"spec.device": s.Device, "spec.targetDevice": s.TargetDevice, "spec.remoteCluster": s.RemoteCluster} {
		if v != "" {
			return fmt.Errorf("%s %q: %w", field, v, ErrNotSupported)
		}
	}
	if err := s.PodSelector.check("spec"); err != nil {
		return err
	}
	if s.Target != nil {
		if err := s.Target.check("spec.target"); err != nil {
			return err
		}
	}
	for i, t := range s.ExternalTargets {
		if _, err := ParseTarget(t); err != nil {
			return fmt.Errorf("spec.externalTargets[%d]: %w", i, err)
		}
	}
	return nil
}

func (p *PodSelector) check(where string) error {
	switch p.Mode {
	case OneMode, AllMode:
	case FixedMode:
		if n, err := strconv.Atoi(p.Value); err != nil || n < 0 {
			return fmt.Errorf("%s.value %q: mode fixed needs a number of pods (0 or more)", where, p.Value)
		}
	case FixedPercentMode, RandomMaxPercentMode:
		if n, err := strconv.Atoi(p.Value); err != nil || n < 0 || n > 100 {
			return fmt.Errorf("%s.value %q: mode %s needs a whole percentage from 0 to 100", where, p.Value, p.Mode)
		}
	case "":
		return fmt.Errorf("%s.mode: required (one, all, fixed, fixed-percent or random-max-percent)", where)
	default:
		return fmt.Errorf("%s.mode %q: must be one, all, fixed, fixed-percent or random-max-percent", where, p.Mode)
	}
	sel := p.Selector
	for field, used := range map[string]bool{
		"fieldSelectors": len(sel.FieldSelectors) > 0, "nodes": len(sel.Nodes) > 0,
		"nodeSelectors": len(sel.NodeSelectors) > 0, "podPhaseSelectors": len(sel.PodPhaseSelectors) > 0,
	} {
		if used {
			return fmt.Errorf("%s.selector.%s: %w (served: namespaces, labelSelectors, expressionSelectors, annotationSelectors, pods)", where, field, ErrNotSupported)
		}
	}
	return nil
}

// Empty reports whether the selector names no pods in particular (no labels, expressions,
// annotations or pod names): with Chaos Mesh it would match every pod of its namespaces.
func (s PodSelectorSpec) Empty() bool {
	return len(s.LabelSelectors) == 0 && len(s.ExpressionSelectors) == 0 && len(s.AnnotationSelectors) == 0 && len(s.Pods) == 0
}

// ParsePercent reads a percentage such as "25" or "0.5" (0 to 100).
func ParsePercent(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 0 || v > 100 {
		return 0, fmt.Errorf("%q is not a percentage from 0 to 100", s)
	}
	return v, nil
}

// ParseDuration reads a Chaos Mesh duration (Go syntax: "30s", "1m30s"); it must be positive.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as \"30s\" or \"2m\"", s)
	}
	return d, nil
}

// ParseTarget reads an externalTargets entry: an IPv4 address or CIDR. Host names are not
// served (the agent does not resolve names).
func ParseTarget(s string) (*net.IPNet, error) {
	if _, n, err := net.ParseCIDR(s); err == nil {
		if n.IP.To4() == nil {
			return nil, fmt.Errorf("%q: IPv6 is %w", s, ErrNotSupported)
		}
		return n, nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("%q: only IPv4 addresses and CIDRs are served, host names are %w", s, ErrNotSupported)
	}
	if ip.To4() == nil {
		return nil, fmt.Errorf("%q: IPv6 is %w", s, ErrNotSupported)
	}
	return &net.IPNet{IP: ip.To4(), Mask: net.CIDRMask(32, 32)}, nil
}
