package k8s

import (
	"github.com/chaostest/chaostest/provider"
)

// CheckNamespace applies the actions' safety rule to ns: the system namespaces are refused
// unless this client allows them (AllowSystemNamespaces) or the run's configuration sets
// chaostest_allow_system_namespaces to true. Sibling provider packages (providers/chaosmesh)
// use it so that every action follows the same rule.
func (c *Client) CheckNamespace(env provider.Env, ns string) error { return c.checkNamespace(env, ns) }
