package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/internal/k8sfuncs"
)

func TestProvidersListsEveryChaosk8sNameWithDefaults(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 0, providersMain(nil, &out, &errb), errb.String())
	text := out.String()
	require.Greater(t, len(k8sfuncs.Table), 50)
	for _, f := range k8sfuncs.Table { // the registry's own list (internal/k8sfuncs checks it)
		assert.Contains(t, text, f.Name+"(", f.Name)
	}
	assert.Contains(t, text, `chaosk8s.pod.actions.terminate_pods(label_selector=null, name_pattern=null, all=false, rand=false, mode="fixed", qty=1, grace_period=-1, ns="default", order="alphabetic")  [action]`)
	assert.Contains(t, text, `chaosk8s.probes.microservice_available_and_healthy(name, ns="default", label_selector=null)  [probe]`)
}

func TestProvidersJSON(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 0, providersMain([]string{"--json", "--prefix", "chaosk8s.pod.probes.read_pod_logs"}, &out, &errb), errb.String())
	var got []struct {
		Name      string `json:"name"`
		Type      string `json:"type"`
		Arguments []struct {
			Name     string `json:"name"`
			Required bool   `json:"required"`
			Default  any    `json:"default"`
		} `json:"arguments"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	require.Len(t, got, 1)
	assert.Equal(t, "probe", got[0].Type)
	var names []string
	for _, a := range got[0].Arguments {
		names = append(names, a.Name)
	}
	assert.Equal(t, "name last ns from_previous label_selector container_name", strings.Join(names, " "))
	assert.Equal(t, "name in ({name})", got[0].Arguments[4].Default)
}
