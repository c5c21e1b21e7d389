package chaostest

// substitute is a placeholder until internal/pysubst lands.
func substitute(v any, configuration map[string]any, secrets map[string]map[string]any) any {
	return v
}
