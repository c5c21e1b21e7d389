package subst

// Value applies Chaos Toolkit ${name} substitution to v, looking names up in
// configuration first, then in each secret scope in order (see SecretScopes for the accepted
// forms; use []Scope or *jsonvalue.Object to keep declaration order). It walks *jsonvalue.Object,
// maps and lists and returns copies; v is never modified. The implementation is in subst.go.
func Value[S SecretScopes](v any, configuration map[string]any, secrets S) any {
	return substitute(v, configuration, secrets)
}
