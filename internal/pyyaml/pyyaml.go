// Package pyyaml decodes YAML as PyYAML's safe_load does (work in progress).
package pyyaml

import "errors"

// Decode parses one YAML document.
func Decode(data []byte) (any, error) { return nil, errors.New("pyyaml: not implemented yet") }
