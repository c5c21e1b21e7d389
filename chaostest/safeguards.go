package chaostest

import (
	"fmt"
	"time"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/internal/gojson"
)

// Safeguards returns a global control (for WithControls) that runs
// chaosaddons.controls.safeguards with probes declared in Go. Each probe needs a tolerance
// (Want; Safeguards panics without one); an unnamed one is named safeguard-N. With every > 0
// each probe runs every that often ("frequency"); with every == 0 it runs once before the
// experiment starts and the experiment waits for it (InBackground: once, alongside). The first
// probe whose tolerance is not met ends the run: outcome interrupted, the running activity
// cancelled, rollbacks per strategy.
//
//	chaostest.WithControls(chaostest.Safeguards("blast-radius", 500*time.Millisecond,
//		http.Get(url).Named("site-up").Want(200)))
func Safeguards(name string, every time.Duration, probes ...Step) engine.ControlSpec {
	gps := make([]engine.GoProbe, 0, len(probes))
	for i, p := range probes {
		a := p.Activity()
		a.obj.Set("type", "probe")
		if a.name() == "" {
			a.Named(fmt.Sprintf("safeguard-%d", i+1))
		}
		if !a.obj.Has("tolerance") {
			// As chaoslib's validation: a safeguard without a tolerance guards nothing.
			panic(fmt.Sprintf("chaostest.Safeguards(%q): safeguard control is invalid as the probe '%s' is missing a tolerance property (use Want)", name, a.name()))
		}
		if every > 0 {
			a.obj.Set("frequency", gojson.Duration(every))
		}
		gps = append(gps, engine.GoProbe{Object: a.obj, Code: engine.Code{Run: a.run, Check: a.check}})
	}
	return engine.Safeguards(name, gps...)
}
