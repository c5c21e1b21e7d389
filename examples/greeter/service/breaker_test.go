package service

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type transitions struct {
	mu  sync.Mutex
	got []string
}

func (tr *transitions) record(from, to BreakerState) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.got = append(tr.got, from.String()+"->"+to.String())
}

func (tr *transitions) list() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.got...)
}

func newTestBreaker(t *testing.T, failures int, cooldown time.Duration) (*Breaker, *fakeClock, *transitions) {
	t.Helper()
	clock := newFakeClock()
	tr := &transitions{}
	b, err := NewBreaker(BreakerConfig{Failures: failures, Cooldown: cooldown, Now: clock.Now, OnStateChange: tr.record})
	require.NoError(t, err)
	return b, clock, tr
}

func mustAllow(t *testing.T, b *Breaker) *Call {
	t.Helper()
	c, ok := b.Allow()
	require.True(t, ok, "breaker in state %s refused a call; want it allowed", b.State())
	require.NotNil(t, c)
	return c
}

func mustRefuse(t *testing.T, b *Breaker) {
	t.Helper()
	c, ok := b.Allow()
	require.False(t, ok, "breaker in state %s allowed a call; want it refused", b.State())
	require.Nil(t, c)
}

func TestBreakerOpensAfterConsecutiveFailures(t *testing.T) {
	b, _, tr := newTestBreaker(t, 3, 5*time.Second)
	assert.Equal(t, Closed, b.State())

	mustAllow(t, b).Failure()
	mustAllow(t, b).Failure()
	mustAllow(t, b).Success() // resets the count
	mustAllow(t, b).Failure()
	mustAllow(t, b).Failure()
	require.Equal(t, Closed, b.State(), "2 consecutive failures after a success must not open a breaker of 3")
	mustAllow(t, b).Failure()
	require.Equal(t, Open, b.State())
	mustRefuse(t, b)
	assert.Equal(t, []string{"closed->open"}, tr.list())
}

func TestBreakerHalfOpensAfterCooldownAndCloses(t *testing.T) {
	b, clock, tr := newTestBreaker(t, 1, 5*time.Second)
	mustAllow(t, b).Failure()
	require.Equal(t, Open, b.State())

	clock.Advance(5*time.Second - time.Nanosecond)
	mustRefuse(t, b)
	clock.Advance(time.Nanosecond)
	trial := mustAllow(t, b)
	require.Equal(t, HalfOpen, b.State())
	mustRefuse(t, b) // one trial at a time
	trial.Success()
	require.Equal(t, Closed, b.State())
	mustAllow(t, b).Success()
	mustAllow(t, b).Success()
	assert.Equal(t, []string{"closed->open", "open->half-open", "half-open->closed"}, tr.list())
}

func TestBreakerReopensWhenTrialFails(t *testing.T) {
	b, clock, tr := newTestBreaker(t, 2, time.Second)
	mustAllow(t, b).Failure()
	mustAllow(t, b).Failure()
	clock.Advance(time.Second)
	mustAllow(t, b).Failure()
	require.Equal(t, Open, b.State())
	mustRefuse(t, b) // a fresh cool-down started when the trial failed
	clock.Advance(time.Second)
	mustAllow(t, b).Success()
	assert.Equal(t, []string{"closed->open", "open->half-open", "half-open->open", "open->half-open", "half-open->closed"}, tr.list())
}

func TestBreakerAbandonedTrialLetsAnotherTrialThrough(t *testing.T) {
	b, clock, _ := newTestBreaker(t, 1, time.Second)
	mustAllow(t, b).Failure()
	clock.Advance(time.Second)
	mustAllow(t, b).Abandon()
	require.Equal(t, HalfOpen, b.State())
	mustAllow(t, b).Success()
	assert.Equal(t, Closed, b.State())
}

func TestBreakerIgnoresStaleAndRepeatedOutcomes(t *testing.T) {
	b, clock, _ := newTestBreaker(t, 1, time.Second)
	slow := mustAllow(t, b) // admitted while closed, answers late
	mustAllow(t, b).Failure()
	require.Equal(t, Open, b.State())
	slow.Success()
	assert.Equal(t, Open, b.State(), "a success of a call admitted before the breaker opened must not close it")

	clock.Advance(time.Second)
	trial := mustAllow(t, b)
	trial.Success()
	trial.Failure() // only the first report counts
	assert.Equal(t, Closed, b.State())

	// Closed with failures=1: a repeated Failure of one call must not be counted twice.
	b2, _, _ := newTestBreaker(t, 2, time.Second)
	c := mustAllow(t, b2)
	c.Failure()
	c.Failure()
	assert.Equal(t, Closed, b2.State(), "one call reported failed twice counted twice")
}

func TestNewBreakerRejectsBadConfig(t *testing.T) {
	_, err := NewBreaker(BreakerConfig{Failures: 0, Cooldown: time.Second})
	require.ErrorContains(t, err, "want at least 1 failure to open, got 0")
	_, err = NewBreaker(BreakerConfig{Failures: 1})
	require.ErrorContains(t, err, "want a positive cool-down, got 0s")
}

func TestBreakerStateString(t *testing.T) {
	assert.Equal(t, "closed", Closed.String())
	assert.Equal(t, "open", Open.String())
	assert.Equal(t, "half-open", HalfOpen.String())
	assert.Equal(t, "BreakerState(7)", BreakerState(7).String())
}

// TestBreakerConcurrentUse hammers one breaker from many goroutines (run with -race) and checks
// the invariant that matters: at most one half-open trial call is in flight at any time, and
// trials do happen (the breaker keeps cycling through its states).
func TestBreakerConcurrentUse(t *testing.T) {
	clock := newFakeClock()
	tr := &transitions{}
	b, err := NewBreaker(BreakerConfig{Failures: 3, Cooldown: time.Millisecond, Now: clock.Now, OnStateChange: tr.record})
	require.NoError(t, err)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		inTrial  int
		maxTrial int
		trials   int
	)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			for i := 0; i < 2000; i++ {
				if i%50 == 0 {
					clock.Advance(time.Millisecond)
				}
				c, ok := b.Allow()
				if !ok {
					continue
				}
				if c.trial {
					mu.Lock()
					inTrial++
					trials++
					maxTrial = max(maxTrial, inTrial)
					mu.Unlock()
				}
				outcome := rng.IntN(10) // 0-4 failure, 5-7 success, 8-9 abandon
				if c.trial {
					mu.Lock()
					inTrial-- // before reporting: once reported, another trial may start
					mu.Unlock()
				}
				switch {
				case outcome < 5:
					c.Failure()
				case outcome < 8:
					c.Success()
				default:
					c.Abandon()
				}
			}
		}(g)
	}
	wg.Wait()
	assert.Equal(t, 1, maxTrial, "half-open trial calls in flight at once")
	assert.Greater(t, trials, 1, "trial calls made")
	assert.Contains(t, tr.list(), "half-open->closed")
	assert.Contains(t, tr.list(), "half-open->open")
}

func BenchmarkBreakerAllowSuccess(b *testing.B) {
	br, err := NewBreaker(BreakerConfig{Failures: 3, Cooldown: time.Second})
	require.NoError(b, err)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c, ok := br.Allow()
			if ok {
				c.Success()
			}
		}
	})
}
