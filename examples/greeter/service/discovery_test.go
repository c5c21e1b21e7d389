package service

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestServiceEnvPrefix(t *testing.T) {
	assert.Equal(t, "GREETER_SERVICE", ServiceEnvPrefix("greeter-service"))
	assert.Equal(t, "NAME_SERVICE", ServiceEnvPrefix("name-service"))
	assert.Equal(t, "GREETER", ServiceEnvPrefix("greeter"))
	assert.Equal(t, map[string]string{
		"GREETER_SERVICE_SERVICE_HOST": "10.96.0.12",
		"GREETER_SERVICE_SERVICE_PORT": "8080",
	}, ServiceEnv("greeter-service", "10.96.0.12", 8080))
}

func TestPeerDiscover(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"explicit URL wins", map[string]string{
			"GREETER_URL": "http://127.0.0.1:9/", "GREETER_SERVICE_SERVICE_HOST": "10.96.0.12", "GREETER_SERVICE_SERVICE_PORT": "8080",
		}, "http://127.0.0.1:9"},
		{"variables injected for greeter-service", ServiceEnv("greeter-service", "10.96.0.12", 8080), "http://10.96.0.12:8080"},
		{"injected for greeter-service win over greeter", map[string]string{
			"GREETER_SERVICE_SERVICE_HOST": "10.96.0.12", "GREETER_SERVICE_SERVICE_PORT": "8080",
			"GREETER_SERVICE_HOST": "10.96.0.99", "GREETER_SERVICE_PORT": "80",
		}, "http://10.96.0.12:8080"},
		{"original app's variables (a Service named greeter)", map[string]string{
			"GREETER_SERVICE_HOST": "10.96.0.99", "GREETER_SERVICE_PORT": "80",
		}, "http://10.96.0.99:80"},
		{"IPv6 cluster IP", ServiceEnv("greeter-service", "fd00::12", 8080), "http://[fd00::12]:8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := GreeterPeer.Discover(envOf(tc.env))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	got, err := NamePeer.Discover(envOf(ServiceEnv("name-service", "10.96.0.13", 8080)))
	require.NoError(t, err)
	assert.Equal(t, "http://10.96.0.13:8080", got)
}

func TestPeerDiscoverErrors(t *testing.T) {
	_, err := GreeterPeer.Discover(envOf(nil))
	require.EqualError(t, err, "no address for the peer: set GREETER_URL or GREETER_SERVICE_SERVICE_HOST or GREETER_SERVICE_HOST "+
		"(the Service must exist before the pod for Kubernetes to inject its variables)")

	_, err = GreeterPeer.Discover(envOf(map[string]string{"GREETER_SERVICE_SERVICE_HOST": "10.96.0.12"}))
	require.EqualError(t, err, `GREETER_SERVICE_SERVICE_HOST is "10.96.0.12" but GREETER_SERVICE_SERVICE_PORT is empty; want both`)

	_, err = GreeterPeer.Discover(envOf(map[string]string{"GREETER_SERVICE_SERVICE_HOST": "10.96.0.12", "GREETER_SERVICE_SERVICE_PORT": "http"}))
	require.EqualError(t, err, `GREETER_SERVICE_SERVICE_PORT: want a port number, got "http"`)

	_, err = GreeterPeer.Discover(envOf(map[string]string{"GREETER_URL": "greeter:8080"}))
	require.EqualError(t, err, `GREETER_URL: want an http:// or https:// URL, got "greeter:8080"`)
}
