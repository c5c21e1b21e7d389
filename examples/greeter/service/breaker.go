package service

import (
	"fmt"
	"sync"
	"time"
)

// BreakerState is the state of a Breaker.
type BreakerState int

// The three states of a circuit breaker.
const (
	// Closed lets every call through and counts consecutive failures.
	Closed BreakerState = iota
	// Open refuses every call until the cool-down has passed.
	Open
	// HalfOpen lets a single trial call through; its outcome closes or reopens the breaker.
	HalfOpen
)

// String returns "closed", "open" or "half-open".
func (s BreakerState) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("BreakerState(%d)", int(s))
}

// BreakerConfig configures a Breaker.
type BreakerConfig struct {
	// Failures is how many consecutive failures open the breaker. Must be at least 1.
	Failures int
	// Cooldown is how long the breaker stays open before it lets one trial call through.
	// Must be positive.
	Cooldown time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// OnStateChange, when set, is called after every state change, outside the breaker's lock
	// (so calls for changes close together may overlap).
	OnStateChange func(from, to BreakerState)
}

// Breaker is a small circuit breaker, safe for concurrent use. Closed, it lets calls through
// and opens after Failures consecutive failures; open, it refuses calls until Cooldown has
// passed, then half-opens and lets exactly one trial call through: a success closes it, a
// failure opens it for another Cooldown. Outcomes of calls admitted before the last state
// change are ignored, so a slow call from an earlier period cannot close or reopen it.
type Breaker struct {
	cfg BreakerConfig

	mu       sync.Mutex
	state    BreakerState
	failures int       // consecutive failures while closed
	openedAt time.Time // when the breaker last opened
	gen      uint64    // bumped on every state change
	trial    bool      // a half-open trial call is in flight
}

// NewBreaker returns a closed breaker, or an error when cfg.Failures < 1 or cfg.Cooldown <= 0.
func NewBreaker(cfg BreakerConfig) (*Breaker, error) {
	if cfg.Failures < 1 {
		return nil, fmt.Errorf("breaker: want at least 1 failure to open, got %d", cfg.Failures)
	}
	if cfg.Cooldown <= 0 {
		return nil, fmt.Errorf("breaker: want a positive cool-down, got %s", cfg.Cooldown)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Breaker{cfg: cfg}, nil
}

// Allow asks to make one call. When the breaker refuses, ok is false and c is nil. When it
// allows, the caller reports the call's outcome once through c.Success, c.Failure or c.Abandon.
func (b *Breaker) Allow() (c *Call, ok bool) {
	b.mu.Lock()
	var from BreakerState
	changed := false
	switch b.state {
	case Open:
		if b.cfg.Now().Sub(b.openedAt) < b.cfg.Cooldown {
			b.mu.Unlock()
			return nil, false
		}
		from, changed = b.setLocked(HalfOpen)
		b.trial = true
	case HalfOpen:
		if b.trial {
			b.mu.Unlock()
			return nil, false
		}
		b.trial = true
	}
	c = &Call{b: b, gen: b.gen, trial: b.state == HalfOpen}
	b.mu.Unlock()
	if changed {
		b.notify(from, HalfOpen)
	}
	return c, true
}

// Call is one call a Breaker allowed. Only the first report of its outcome counts.
type Call struct {
	b     *Breaker
	gen   uint64
	trial bool // admitted as the half-open trial
	once  sync.Once
}

// Success reports that the call succeeded: it resets the failure count, or closes a half-open
// breaker.
func (c *Call) Success() { c.once.Do(func() { c.b.record(c.gen, outcomeSuccess) }) }

// Failure reports that the call failed: it counts towards opening the breaker, or reopens a
// half-open one.
func (c *Call) Failure() { c.once.Do(func() { c.b.record(c.gen, outcomeFailure) }) }

// Abandon reports that the call's outcome says nothing about the peer (the caller gave up
// first): nothing is counted, and a half-open breaker lets another trial call through.
func (c *Call) Abandon() { c.once.Do(func() { c.b.record(c.gen, outcomeAbandoned) }) }

type outcome int

const (
	outcomeSuccess outcome = iota
	outcomeFailure
	outcomeAbandoned
)

// State returns the current state. An open breaker whose cool-down has passed still reports
// Open until the next Allow moves it to HalfOpen.
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

func (b *Breaker) record(gen uint64, o outcome) {
	b.mu.Lock()
	if gen != b.gen {
		b.mu.Unlock()
		return
	}
	var from, to BreakerState
	changed := false
	switch {
	case b.state == Closed && o == outcomeSuccess:
		b.failures = 0
	case b.state == Closed && o == outcomeFailure:
		if b.failures++; b.failures >= b.cfg.Failures {
			to = Open
			from, changed = b.setLocked(to)
		}
	case b.state == HalfOpen && o == outcomeAbandoned:
		b.trial = false
	case b.state == HalfOpen:
		to = Closed
		if o == outcomeFailure {
			to = Open
		}
		from, changed = b.setLocked(to)
	}
	b.mu.Unlock()
	if changed {
		b.notify(from, to)
	}
}

// setLocked moves to state to; b.mu must be held. It reports the previous state and whether
// the state changed.
func (b *Breaker) setLocked(to BreakerState) (BreakerState, bool) {
	from := b.state
	if from == to {
		return from, false
	}
	b.state = to
	b.gen++
	b.failures = 0
	if to == Open {
		b.openedAt = b.cfg.Now()
	}
	if to != HalfOpen {
		b.trial = false
	}
	return from, true
}

func (b *Breaker) notify(from, to BreakerState) {
	if b.cfg.OnStateChange != nil {
		b.cfg.OnStateChange(from, to)
	}
}
