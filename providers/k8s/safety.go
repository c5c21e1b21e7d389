package k8s

import (
	"fmt"
	"strings"

	"github.com/chaostest/chaostest/provider"
)

// AllowSystemNamespacesKey is the configuration key that lets actions touch the system
// namespaces (kube-system, kube-public, kube-node-lease). Its value must be true (or "true").
const AllowSystemNamespacesKey = "chaostest_allow_system_namespaces"

var systemNamespaces = map[string]bool{"kube-system": true, "kube-public": true, "kube-node-lease": true}

// checkNamespace refuses an action in a system namespace unless the run or the client allows it.
func (c *Client) checkNamespace(env provider.Env, ns string) error {
	if !systemNamespaces[ns] {
		return nil
	}
	if c != nil && c.systemAllowed() {
		return nil
	}
	switch v := env.Configuration[AllowSystemNamespacesKey].(type) {
	case bool:
		if v {
			return nil
		}
	case string:
		if strings.EqualFold(v, "true") {
			return nil
		}
	}
	return fmt.Errorf("refusing to act on system namespace '%s': set the configuration key %s to true to allow it", ns, AllowSystemNamespacesKey)
}
