package reuse

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
)

type closer struct{ closed int }

func (c *closer) Close() error { c.closed++; return nil }

func TestScopeKeepsOneValuePerKeyUntilItEnds(t *testing.T) {
	made := 0
	create := func() io.Closer { made++; return &closer{} }
	assert.Nil(t, Get(context.Background(), "k", create), "no scope: nothing is kept")
	assert.Zero(t, made)

	ctx, end := With(context.Background())
	a := Get(ctx, "k", create)
	assert.Same(t, a, Get(ctx, "k", create), "the same key gives the kept value")
	b := Get(ctx, "other", create)
	assert.NotSame(t, a, b)
	assert.Equal(t, 2, made)

	end()
	assert.Equal(t, 1, a.(*closer).closed)
	assert.Equal(t, 1, b.(*closer).closed)
	assert.Nil(t, Get(ctx, "k", create), "an ended scope keeps nothing")
	end()
	assert.Equal(t, 1, a.(*closer).closed, "ending twice closes once")
}
