package provider

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestEnvSubstitute(t *testing.T) {
	env := Env{
		Configuration: map[string]any{"c": "conf"},
		AllSecrets:    map[string]map[string]any{"a": {"s": "from-a"}, "b": {"s": "from-b"}},
	}
	assert.Equal(t, "conf/from-a", env.Substitute("${c}/${s}"))
	env.ScopeOrder = []string{"b", "a"}
	assert.Equal(t, "conf/from-b", env.Substitute("${c}/${s}"))
}
