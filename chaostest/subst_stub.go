package chaostest

// SubstituteValue applies Chaos Toolkit ${name} substitution to v, looking names up in
// configuration first, then in each secret scope. It walks *journal.Object, maps and lists.
// The implementation is in subst.go.
func SubstituteValue(v any, configuration map[string]any, secrets map[string]map[string]any) any {
	return substitute(v, configuration, secrets)
}
