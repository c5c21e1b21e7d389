// Package remote runs registered provider functions in another process: the chaostest CLI
// calls the Kubernetes providers in its helper executable chaostest-k8s, so the CLI never links
// client-go. The protocol is one JSON object per line over the helper's stdin and stdout:
//
//	CLI → helper   {"id":1,"func":"chaosk8s.pod.probes.pods_in_phase","activity":"web-up",
//	                "configuration":{...},"secrets":{...},"all_secrets":{...},"scope_order":[...],
//	                "args":{...}}
//	               {"id":1,"cancel":true}                 the call's context ended
//	helper → CLI   {"hello":"chaostest 0.1.0"}           first line: the helper's version
//	               {"id":1,"log":"..."}                   a line the function logs (Env.Logf)
//	               {"id":1,"output":...}                  the result, as JSON
//	               {"id":1,"error":"...","crash":false,"exception":[...]}
//	               {"id":1,"panic":"...","stack":"..."}
//
// Calls run concurrently (background activities, continuous checks); ids tell them apart. The
// helper ends when its stdin closes: when the CLI exits, however it exits.
package remote

import (
	"encoding/json"
	"fmt"

	"github.com/chaostest/chaostest/jsonvalue"
)

// request is one line the CLI sends. Values are JSON text, decoded with journal's conventions
// (ordered objects, int64 integers) as the CLI's own loaders decode them.
type request struct {
	ID            int64           `json:"id"`
	Cancel        bool            `json:"cancel,omitempty"`
	Func          string          `json:"func,omitempty"`
	Activity      string          `json:"activity,omitempty"`
	Configuration json.RawMessage `json:"configuration,omitempty"`
	Secrets       json.RawMessage `json:"secrets,omitempty"`
	AllSecrets    json.RawMessage `json:"all_secrets,omitempty"`
	ScopeOrder    []string        `json:"scope_order,omitempty"`
	Args          json.RawMessage `json:"args,omitempty"`
}

// response is one line the helper sends.
type response struct {
	Hello     string          `json:"hello,omitempty"`
	ID        int64           `json:"id,omitempty"`
	Log       *string         `json:"log,omitempty"`
	Output    json.RawMessage `json:"output,omitempty"`
	Error     *string         `json:"error,omitempty"`
	Crash     bool            `json:"crash,omitempty"`
	Exception []string        `json:"exception,omitempty"`
	Panic     *string         `json:"panic,omitempty"`
	Stack     string          `json:"stack,omitempty"`
}

// encodeMap writes a map as JSON text ("" for an empty or nil map, which is left out).
func encodeMap[V any](m map[string]V) (json.RawMessage, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return json.Marshal(m)
}

// decodeMap reads JSON object text into a map whose values follow journal's conventions.
func decodeMap(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	v, err := jsonvalue.Decode(raw)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*jsonvalue.Object)
	if !ok {
		return nil, fmt.Errorf("expected a JSON object, got %s", jsonvalue.TypeName(v))
	}
	m := make(map[string]any, o.Len())
	for _, k := range o.Keys() {
		m[k] = o.Value(k)
	}
	return m, nil
}
