package k8s

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/chaostest/chaostest/provider"
)

type gvrArgs struct {
	Group   string `arg:"group"`
	Version string `arg:"version"`
	Plural  string `arg:"plural"`
}

type createCustomArgs struct {
	Group              string         `arg:"group"`
	Version            string         `arg:"version"`
	Plural             string         `arg:"plural"`
	NS                 string         `arg:"ns" default:"\"default\""`
	Resource           map[string]any `arg:"resource" default:"null"`
	ResourceAsYAMLFile string         `arg:"resource_as_yaml_file" default:"null"`
}

type createClusterCustomArgs struct {
	Group              string         `arg:"group"`
	Version            string         `arg:"version"`
	Plural             string         `arg:"plural"`
	Resource           map[string]any `arg:"resource" default:"null"`
	ResourceAsYAMLFile string         `arg:"resource_as_yaml_file" default:"null"`
}

type customNameArgs struct {
	Group   string `arg:"group"`
	Version string `arg:"version"`
	Plural  string `arg:"plural"`
	Name    string `arg:"name"`
	NS      string `arg:"ns" default:"\"default\""`
}

type clusterCustomNameArgs struct {
	Group   string `arg:"group"`
	Version string `arg:"version"`
	Plural  string `arg:"plural"`
	Name    string `arg:"name"`
}

type customListArgs struct {
	Group   string `arg:"group"`
	Version string `arg:"version"`
	Plural  string `arg:"plural"`
	NS      string `arg:"ns" default:"\"default\""`
}

type changeCustomArgs struct {
	Group              string         `arg:"group"`
	Version            string         `arg:"version"`
	Plural             string         `arg:"plural"`
	Name               string         `arg:"name"`
	NS                 string         `arg:"ns" default:"\"default\""`
	Force              bool           `arg:"force" default:"false"`
	Resource           map[string]any `arg:"resource" default:"null"`
	ResourceAsYAMLFile string         `arg:"resource_as_yaml_file" default:"null"`
}

type changeClusterCustomArgs struct {
	Group              string         `arg:"group"`
	Version            string         `arg:"version"`
	Plural             string         `arg:"plural"`
	Name               string         `arg:"name"`
	Force              bool           `arg:"force" default:"false"`
	Resource           map[string]any `arg:"resource" default:"null"`
	ResourceAsYAMLFile string         `arg:"resource_as_yaml_file" default:"null"`
}

type applyArgs struct {
	Resource string `arg:"resource" default:"null"`
}

func init() {
	register("chaosk8s.crd.actions.create_custom_object", "Create a custom object in a namespace; an existing one is returned as the API reported it.", func(ctx context.Context, c *Client, env provider.Env, a createCustomArgs) (any, error) {
		if err := c.checkNamespace(env, a.NS); err != nil {
			return nil, err
		}
		return c.createCustom(ctx, gvr(a.Group, a.Version, a.Plural), a.NS, a.Resource, a.ResourceAsYAMLFile)
	})
	register("chaosk8s.crd.actions.create_cluster_custom_object", "Create a cluster-wide custom object.", func(ctx context.Context, c *Client, env provider.Env, a createClusterCustomArgs) (any, error) {
		return c.createCustom(ctx, gvr(a.Group, a.Version, a.Plural), "", a.Resource, a.ResourceAsYAMLFile)
	})
	register("chaosk8s.crd.actions.delete_custom_object", "Delete a custom object in a namespace.", func(ctx context.Context, c *Client, env provider.Env, a customNameArgs) (any, error) {
		if err := c.checkNamespace(env, a.NS); err != nil {
			return nil, err
		}
		return c.deleteCustom(ctx, gvr(a.Group, a.Version, a.Plural), a.NS, a.Name)
	})
	register("chaosk8s.crd.actions.delete_cluster_custom_object", "Delete a cluster-wide custom object.", func(ctx context.Context, c *Client, env provider.Env, a clusterCustomNameArgs) (any, error) {
		return c.deleteCustom(ctx, gvr(a.Group, a.Version, a.Plural), "", a.Name)
	})
	register("chaosk8s.crd.actions.patch_custom_object", "Patch (JSON merge patch) a custom object in a namespace.", func(ctx context.Context, c *Client, env provider.Env, a changeCustomArgs) (any, error) {
		if err := c.checkNamespace(env, a.NS); err != nil {
			return nil, err
		}
		return c.changeCustom(ctx, gvr(a.Group, a.Version, a.Plural), a.NS, a.Name, a.Resource, a.ResourceAsYAMLFile, false)
	})
	register("chaosk8s.crd.actions.replace_custom_object", "Replace a custom object in a namespace.", func(ctx context.Context, c *Client, env provider.Env, a changeCustomArgs) (any, error) {
		if err := c.checkNamespace(env, a.NS); err != nil {
			return nil, err
		}
		return c.changeCustom(ctx, gvr(a.Group, a.Version, a.Plural), a.NS, a.Name, a.Resource, a.ResourceAsYAMLFile, true)
	})
	register("chaosk8s.crd.actions.patch_cluster_custom_object", "Patch (JSON merge patch) a cluster-wide custom object.", func(ctx context.Context, c *Client, env provider.Env, a changeClusterCustomArgs) (any, error) {
		return c.changeCustom(ctx, gvr(a.Group, a.Version, a.Plural), "", a.Name, a.Resource, a.ResourceAsYAMLFile, false)
	})
	register("chaosk8s.crd.actions.replace_cluster_custom_object", "Replace a cluster-wide custom object.", func(ctx context.Context, c *Client, env provider.Env, a changeClusterCustomArgs) (any, error) {
		return c.changeCustom(ctx, gvr(a.Group, a.Version, a.Plural), "", a.Name, a.Resource, a.ResourceAsYAMLFile, true)
	})
	register("chaosk8s.crd.actions.apply_from_json", "Apply (server-side) the objects of a JSON document.", func(ctx context.Context, c *Client, env provider.Env, a applyArgs) (any, error) {
		return c.apply(ctx, env, a.Resource)
	})
	register("chaosk8s.crd.actions.apply_from_yaml", "Apply (server-side) the objects of a YAML document (several documents allowed).", func(ctx context.Context, c *Client, env provider.Env, a applyArgs) (any, error) {
		return c.apply(ctx, env, a.Resource)
	})
	register("chaosk8s.crd.probes.get_custom_object", "A custom object of a namespace.", func(ctx context.Context, c *Client, env provider.Env, a customNameArgs) (any, error) {
		return c.getCustom(ctx, gvr(a.Group, a.Version, a.Plural), a.NS, a.Name)
	})
	register("chaosk8s.crd.probes.get_cluster_custom_object", "A cluster-wide custom object.", func(ctx context.Context, c *Client, env provider.Env, a clusterCustomNameArgs) (any, error) {
		return c.getCustom(ctx, gvr(a.Group, a.Version, a.Plural), "", a.Name)
	})
	register("chaosk8s.crd.probes.list_custom_objects", "The custom objects of a namespace (their items).", func(ctx context.Context, c *Client, env provider.Env, a customListArgs) (any, error) {
		return c.listCustom(ctx, gvr(a.Group, a.Version, a.Plural), a.NS)
	})
	register("chaosk8s.crd.probes.list_cluster_custom_objects", "The cluster-wide custom objects (their items).", func(ctx context.Context, c *Client, env provider.Env, a gvrArgs) (any, error) {
		return c.listCustom(ctx, gvr(a.Group, a.Version, a.Plural), "")
	})
}

func gvr(group, version, plural string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: version, Resource: plural}
}

func (c *Client) resource(r schema.GroupVersionResource, ns string) (dynamic.ResourceInterface, error) {
	if c.dyn == nil {
		return nil, errors.New("custom objects need a client built from a REST configuration")
	}
	if ns == "" {
		return c.dyn.Resource(r), nil
	}
	return c.dyn.Resource(r).Namespace(ns), nil
}

// loadBody is chaosk8s's load_body: the resource, else the YAML file.
func loadBody(resource map[string]any, file string) (map[string]any, error) {
	if resource == nil && file == "" {
		return nil, errors.New("Either `body_as_object` or `body_as_yaml_file` must be set")
	}
	if resource != nil {
		return resource, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("Path '%s' is not a valid resource file", file)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("reading %s: %v", file, err)
	}
	return m, nil
}

func objectValue(u *unstructured.Unstructured) (any, error) {
	b, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return rawJSON(b)
}

// statusBody returns the API's Status object of an error, as chaosk8s returns json.loads(x.body).
func statusBody(err error) (any, bool) {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		return nil, false
	}
	st := se.Status()
	st.APIVersion, st.Kind = "v1", "Status"
	v, jerr := jsonValue(st)
	return v, jerr == nil
}

func (c *Client) createCustom(ctx context.Context, r schema.GroupVersionResource, ns string, resource map[string]any, file string) (any, error) {
	body, err := loadBody(resource, file)
	if err != nil {
		return nil, err
	}
	ri, err := c.resource(r, ns)
	if err != nil {
		return nil, err
	}
	var u unstructured.Unstructured
	if err := convert(body, &u.Object); err != nil {
		return nil, err
	}
	out, err := ri.Create(ctx, &u, metav1.CreateOptions{})
	if err != nil {
		if apierrors.IsAlreadyExists(err) {
			if v, ok := statusBody(err); ok {
				return v, nil
			}
		}
		return nil, fmt.Errorf("Failed to create custom resource object: %s", apiError(err))
	}
	return objectValue(out)
}

func (c *Client) deleteCustom(ctx context.Context, r schema.GroupVersionResource, ns, name string) (any, error) {
	ri, err := c.resource(r, ns)
	if err != nil {
		return nil, err
	}
	if err := ri.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return nil, fmt.Errorf("Failed to delete custom resource object: %s", apiError(err))
	}
	st := metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusSuccess,
		Details: &metav1.StatusDetails{Name: name, Group: r.Group, Kind: r.Resource}}
	return jsonValue(st)
}

func (c *Client) changeCustom(ctx context.Context, r schema.GroupVersionResource, ns, name string, resource map[string]any, file string, replace bool) (any, error) {
	body, err := loadBody(resource, file)
	if err != nil {
		return nil, err
	}
	ri, err := c.resource(r, ns)
	if err != nil {
		return nil, err
	}
	verb := "patch"
	var out *unstructured.Unstructured
	if replace {
		verb = "replace"
		var u unstructured.Unstructured
		if err = convert(body, &u.Object); err == nil {
			if u.GetResourceVersion() == "" {
				cur, gerr := ri.Get(ctx, name, metav1.GetOptions{})
				if gerr != nil {
					return nil, fmt.Errorf("Failed to %s custom resource object: %s", verb, apiError(gerr))
				}
				u.SetResourceVersion(cur.GetResourceVersion())
			}
			out, err = ri.Update(ctx, &u, metav1.UpdateOptions{})
		}
	} else {
		var b []byte
		if b, err = jsonBytes(body); err == nil {
			out, err = ri.Patch(ctx, name, types.MergePatchType, b, metav1.PatchOptions{})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("Failed to %s custom resource object: %s", verb, apiError(err))
	}
	return objectValue(out)
}

func (c *Client) getCustom(ctx context.Context, r schema.GroupVersionResource, ns, name string) (any, error) {
	ri, err := c.resource(r, ns)
	if err != nil {
		return nil, err
	}
	out, err := ri.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("Failed to read custom resource object: %s", apiError(err))
	}
	return objectValue(out)
}

func (c *Client) listCustom(ctx context.Context, r schema.GroupVersionResource, ns string) (any, error) {
	ri, err := c.resource(r, ns)
	if err != nil {
		return nil, err
	}
	l, err := ri.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("Failed to list custom resource objects: %s", apiError(err))
	}
	items := []any{}
	for i := range l.Items {
		v, err := objectValue(&l.Items[i])
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
	return items, nil
}

// decodeDocuments reads every object of a JSON or (multi-document) YAML text; a List's items
// count as objects.
func decodeDocuments(text string) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(text)), 4096)
	var out []*unstructured.Unstructured
	for i := 0; i < 10000; i++ {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("cannot read the resource: %v", err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.IsList() {
			l, err := u.ToList()
			if err != nil {
				return nil, err
			}
			for j := range l.Items {
				out = append(out, &l.Items[j])
			}
			continue
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, errors.New("the resource holds no object")
	}
	return out, nil
}

// apply applies each object of text with server-side apply (field manager "chaostest") and
// returns the applied object, or the list of them when there are several.
func (c *Client) apply(ctx context.Context, env provider.Env, text string) (any, error) {
	objs, err := decodeDocuments(text)
	if err != nil {
		return nil, err
	}
	if c.dyn == nil {
		return nil, errors.New("apply needs a client built from a REST configuration")
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discovery.NewDiscoveryClient(c.cs.Discovery().RESTClient())))
	var results []any
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return nil, fmt.Errorf("cannot apply %s %q: %v", gvk.Kind, u.GetName(), err)
		}
		var ri dynamic.ResourceInterface = c.dyn.Resource(m.Resource)
		if m.Scope.Name() == "namespace" {
			ns := u.GetNamespace()
			if ns == "" {
				ns = "default"
			}
			if err := c.checkNamespace(env, ns); err != nil {
				return nil, err
			}
			ri = c.dyn.Resource(m.Resource).Namespace(ns)
		}
		b, err := json.Marshal(u.Object)
		if err != nil {
			return nil, err
		}
		out, err := ri.Patch(ctx, u.GetName(), types.ApplyPatchType, b, metav1.PatchOptions{FieldManager: "chaostest", Force: ptrTo(true)})
		if err != nil {
			return nil, fmt.Errorf("Failed to apply %s '%s': %s", gvk.Kind, u.GetName(), apiError(err))
		}
		v, err := objectValue(out)
		if err != nil {
			return nil, err
		}
		results = append(results, v)
	}
	if len(results) == 1 {
		return results[0], nil
	}
	return results, nil
}

func ptrTo[T any](v T) *T { return &v }
