package engine

import (
	"fmt"

	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// warnTruncated logs a WARNING for each output stream a provider cut at provider.MaxOutputSize.
func (r *runner) warnTruncated(act *jsonvalue.Object, out any) {
	o, ok := out.(*jsonvalue.Object)
	if !ok {
		return
	}
	t, ok := o.Value(provider.OutputTruncatedKey).(*jsonvalue.Object)
	if !ok {
		return
	}
	name, _ := act.Value("name").(string)
	for _, stream := range t.Keys() {
		info, _ := t.Value(stream).(*jsonvalue.Object)
		kept, _ := info.Value("kept").(int64)
		size := "more than " + FormatSize(provider.MaxOutputSize)
		if n, ok := info.Value("size").(int64); ok {
			size = FormatSize(n)
		}
		r.log(LevelWarning, fmt.Sprintf("The %s of '%s' was cut: it is %s, only its first %s are kept (chaostest's output cap); the output's %q key records the cut", stream, name, size, FormatSize(kept), provider.OutputTruncatedKey))
	}
}
