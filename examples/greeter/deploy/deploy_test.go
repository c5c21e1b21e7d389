package deploy

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/chaostest/chaostest/examples/greeter/service"
)

func TestObjectsInApplyOrder(t *testing.T) {
	for _, mode := range []service.Mode{service.Fragile, service.Resilient} {
		objs, err := Objects(mode)
		require.NoError(t, err)
		var got []string
		for _, o := range objs {
			got = append(got, o.Kind+"/"+o.Name)
			var m map[string]any
			require.NoError(t, json.Unmarshal(o.JSON, &m), "%s is JSON", o.Name)
		}
		assert.Equal(t, []string{
			"Service/name-service", "Service/greeter-service", "Service/webapp-service",
			"Deployment/name-deployment", "Deployment/greeter-deployment", "Deployment/webapp-deployment",
		}, got, "mode %s", mode)
		last := objs[len(objs)-1]
		var dep appsv1.Deployment
		require.NoError(t, json.Unmarshal(last.JSON, &dep))
		assert.Equal(t, string(mode), dep.Spec.Template.Labels[ModeLabel], "webapp's pod template says its mode")
	}
	_, err := Objects("sturdy")
	assert.ErrorContains(t, err, `got "sturdy"`)
}

func TestParseManifestRejects(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"kind":       {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", `want kind Service or Deployment, got "ConfigMap"`},
		"apiVersion": {"apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: x}\n", `want apiVersion "apps/v1", got "extensions/v1beta1"`},
		"name":       {"apiVersion: v1\nkind: Service\nmetadata: {}\n", "no metadata.name"},
		"namespace":  {"apiVersion: v1\nkind: Service\nmetadata: {name: x, namespace: prod}\n", `got "prod"`},
		"not object": {"- a\n- b\n", "want an object"},
		"bad yaml":   {"kind: [\n", "document 1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseManifest([]byte(tc.yaml))
			assert.ErrorContains(t, err, tc.want)
		})
	}
	objs, err := parseManifest([]byte("# only a comment\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n"))
	require.NoError(t, err)
	require.Len(t, objs, 1, "comment-only documents are skipped")
	assert.Equal(t, "a", objs[0].Name)
}

func TestWaitServing(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			http.Error(w, "greeter down", http.StatusInternalServerError)
		case 2:
			w.Header().Set("X-Greeting-Source", "fallback")
			_, _ = w.Write([]byte("Hello Sheldon\n"))
		default:
			w.Header().Set("X-Greeting-Source", "greeter")
			_, _ = w.Write([]byte("Hello Sheldon\n"))
		}
	}))
	defer srv.Close()
	require.NoError(t, waitServing(context.Background(), srv.URL+"/", "greeter", 10*time.Second, 0))
	assert.Equal(t, int32(2+5), calls.Load(), "two bad answers, then five good ones in a row")

	calls.Store(0)
	start := time.Now()
	require.NoError(t, waitServing(context.Background(), srv.URL+"/", "greeter", 10*time.Second, 1500*time.Millisecond))
	assert.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond, "good answers for the whole settle time")
	assert.GreaterOrEqual(t, calls.Load(), int32(2+8))

	err := waitServing(context.Background(), srv.URL+"/", "breaker-open", 500*time.Millisecond, 0)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), `want 200 with X-Greeting-Source "breaker-open" on every try for 0s within 500ms; last seen: 200, X-Greeting-Source "greeter", body "Hello Sheldon\n"`), err.Error())
}

func TestWaitServingNeedsAStreak(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// every third answer comes from a dead endpoint (an error): never five good in a row
		if calls.Add(1)%3 == 0 {
			http.Error(w, "greeter: dial tcp: connect: connection refused", http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Greeting-Source", "greeter")
		_, _ = w.Write([]byte("Hello Sheldon\n"))
	}))
	defer srv.Close()
	err := waitServing(context.Background(), srv.URL+"/", "greeter", 2*time.Second, 0)
	require.Error(t, err)
	assert.GreaterOrEqual(t, calls.Load(), int32(6))
}
