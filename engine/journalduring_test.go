package engine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJournalDuringSetting(t *testing.T) {
	for mode, fold := range map[string]bool{"": true, JournalDuringFolded: true, JournalDuringFull: false} {
		got, err := checkJournalDuring(mode)
		require.NoError(t, err)
		assert.Equal(t, fold, got, "mode %q", mode)
	}
	e, err := Parse([]byte(`{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}]}`), "json")
	require.NoError(t, err)
	_, err = Run(context.Background(), e, Settings{JournalDuring: "compact"})
	require.Error(t, err)
	assert.Equal(t, `unknown journal-during mode "compact": want folded or full`, err.Error())
}
