package capped

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBufferKeepsFirstMaxAndCountsAll(t *testing.T) {
	var b Buffer
	chunk := bytes.Repeat([]byte("é"), 1000) // 2 bytes each: Max falls inside a character
	var total int64
	for total < 2*Max {
		n, err := b.Write(chunk)
		require.NoError(t, err)
		require.Equal(t, len(chunk), n, "a write always takes everything")
		total += int64(n)
	}
	assert.True(t, b.Cut())
	assert.Equal(t, total, b.Size())
	assert.Len(t, b.Bytes(), Max, "Max is even: no partial character")
	var odd Buffer
	_, _ = odd.Write([]byte("x"))
	_, _ = io.Copy(&odd, bytes.NewReader(bytes.Repeat([]byte("é"), Max)))
	assert.Len(t, odd.Bytes(), Max-1, "the half of 'é' at the cut is dropped")
	var small Buffer
	_, _ = small.Write([]byte("hi"))
	assert.False(t, small.Cut())
	assert.Equal(t, "hi", string(small.Bytes()))
}

func TestReadAll(t *testing.T) {
	data, cut, err := ReadAll(strings.NewReader(strings.Repeat("a", Max+10)))
	require.NoError(t, err)
	assert.True(t, cut)
	assert.Len(t, data, Max)
	data, cut, err = ReadAll(strings.NewReader("abc"))
	require.NoError(t, err)
	assert.False(t, cut)
	assert.Equal(t, "abc", string(data))
}

func TestTrimPartialRune(t *testing.T) {
	assert.Equal(t, "ab", string(TrimPartialRune([]byte("ab"))))
	assert.Equal(t, "aé", string(TrimPartialRune([]byte("aé"))))
	assert.Equal(t, "a", string(TrimPartialRune([]byte("a\xc3"))))
	assert.Equal(t, "a", string(TrimPartialRune([]byte("a\xe2\x82"))))
	assert.Equal(t, "a€", string(TrimPartialRune([]byte("a€"))))
}
