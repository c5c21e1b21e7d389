package k8s

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/chaostest/chaostest/provider"
)

func TestTestNamespaceNamesAreValidAndFollowTheTest(t *testing.T) {
	assert.Equal(t, "ct-foo-bar-baz-abcde", testNamespaceName("TestFoo/bar_baz", "abcde"))
	assert.Equal(t, "ct-abcde", testNamespaceName("Test", "abcde"))
	long := "TestAVeryLongTestNameThatGoesOnAndOn/with_a_subtest_that_is_long_as_well/#01"
	name := testNamespaceName(long, "abcde")
	assert.LessOrEqual(t, len(name), 63)
	assert.Empty(t, validation.IsDNS1123Label(name), name)
	assert.True(t, strings.HasSuffix(name, "-01-abcde"), "the end of the name (subtests differ there) is kept: %s", name)
	for _, test := range []string{long, "Test/é/ü", "Test_x.y-"} {
		assert.Empty(t, validation.IsValidLabelValue(labelValue(test)), "label value of %q: %q", test, labelValue(test))
	}
}

func TestAScopedClientGivesItsNamespaceToFunctionsThatTakeOne(t *testing.T) {
	scoped := &Client{ns: "ct-x-abcde"}
	count, ok := provider.LookupFunc("chaosk8s.pod.probes.count_pods")
	require.True(t, ok)
	args := map[string]any{"label_selector": "app=web"}
	scoped.defaultNamespace(args, count)
	assert.Equal(t, "ct-x-abcde", args["ns"])

	args = map[string]any{"ns": "other"}
	scoped.defaultNamespace(args, count)
	assert.Equal(t, "other", args["ns"], "an explicit namespace wins")

	cordon, ok := provider.LookupFunc("chaosk8s.node.actions.cordon_node")
	require.True(t, ok)
	args = map[string]any{}
	scoped.defaultNamespace(args, cordon)
	assert.NotContains(t, args, "ns", "a function without ns gets none")

	args = map[string]any{}
	(&Client{}).defaultNamespace(args, count)
	assert.NotContains(t, args, "ns", "an unscoped client keeps the function's default")

	assert.Equal(t, "ct-x-abcde", scoped.Session().Namespace(), "a session keeps the scope")
	assert.Equal(t, "ct-x-abcde", scoped.scope(""))
	assert.Equal(t, "given", scoped.scope("given"))
	assert.Equal(t, "", (&Client{}).scope(""))
}
