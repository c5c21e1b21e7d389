package engine

import (
	"fmt"

	"github.com/chaostest/chaostest/jsonvalue"
)

// controlSite is one place an experiment declares controls.
type controlSite struct {
	where string // "" (top level), "steady-state-hypothesis", or an activity's location
	raw   any
}

// controlSites lists where the experiment declares controls, in chaoslib's get_controls order:
// top level, hypothesis, then the activities of the hypothesis, the method and the rollbacks.
func controlSites(exp *jsonvalue.Object) []controlSite {
	sites := []controlSite{{"", exp.Value("controls")}}
	h, _ := exp.Value("steady-state-hypothesis").(*jsonvalue.Object)
	if h != nil {
		sites = append(sites, controlSite{"steady-state-hypothesis", h.Value("controls")})
	}
	add := func(section string, acts any) {
		for i, a := range list(acts) {
			if ao, ok := a.(*jsonvalue.Object); ok {
				sites = append(sites, controlSite{activityWhere(section, i, a), ao.Value("controls")})
			}
		}
	}
	add("steady-state-hypothesis.probes", h.Value("probes"))
	add("method", exp.Value("method"))
	add("rollbacks", exp.Value("rollbacks"))
	return sites
}

// allControls applies chaoslib's validate_controls to every control of the experiment.
func (v *validator) allControls() {
	sites := controlSites(v.e.obj)
	refs := map[string]bool{}
	for _, s := range sites {
		for _, c := range objects(s.raw) {
			if !c.Has("ref") && c.Has("name") {
				refs[pyStr(c.Value("name"))] = true
			}
		}
	}
	for _, s := range sites {
		switch t := s.raw.(type) {
		case nil:
		case []any:
			for i, c := range t {
				w := fmt.Sprintf("controls[%d]", i)
				if s.where != "" {
					w = s.where + " " + w
				}
				v.control(w, c, refs)
			}
		case *jsonvalue.Object, string:
			// chaoslib iterates a mapping's keys (or a string's characters) as controls: strings,
			// which have no name.
			if truthy(t) {
				v.add(s.where, "controls", "A control must have a `name` property")
			}
		default:
			v.add(s.where, "controls", "the controls must be a list of controls, not %s", jsonvalue.TypeName(t))
		}
	}
}

// controlValidator is implemented by the built-in controls, which validate with the
// experiment validator's rules (activities, tolerances).
type controlValidator interface {
	validateControl(v *validator, where string, control *jsonvalue.Object)
}

func (v *validator) control(where string, raw any, refs map[string]bool) {
	c, ok := raw.(*jsonvalue.Object)
	if !ok {
		v.add(where, "name", "A control must have a `name` property")
		return
	}
	if ref, has := c.Get("ref"); has && !refs[pyStr(ref)] {
		// chaoslib's message has an unformatted "{}".
		v.add(where, "ref", "Control reference '{}' declaration cannot be found")
		return
	}
	if !c.Has("name") {
		v.add(where, "name", "A control must have a `name` property")
		return
	}
	name := pyStr(c.Value("name"))
	prov, has := c.Get("provider")
	if !has {
		v.add(where, "provider", "Control '%s' must have a `provider` property", name)
		return
	}
	if scope, ok := c.Get("scope"); ok && truthy(scope) && scope != "before" && scope != "after" {
		v.add(where, "scope", "Control '%s' scope property must be 'before' or 'after' only", name)
		return
	}
	p, ok := prov.(*jsonvalue.Object)
	if !ok {
		v.add(where, "provider", "Control '%s' provider must be a mapping, not %s", name, jsonvalue.TypeName(prov))
		return
	}
	if p.Value("type") != "python" {
		return
	}
	if !truthy(p.Value("module")) {
		v.add(where, "provider.module", "Control '%s' must have a module path", name)
		return
	}
	mod := pyStr(p.Value("module"))
	f, found := LookupControl(mod)
	if !found || f == nil {
		return // a warning only (ControlWarnings)
	}
	switch inst := f().(type) {
	case controlValidator:
		inst.validateControl(v, where, c)
	case ControlValidator:
		if err := inst.ValidateControl(c); err != nil {
			v.add(where, "provider", "%s", err)
		}
	}
}

// ControlWarnings returns chaoslib's warning for each control of the experiment whose Python
// module has no implementation here (no Go control registered, and the resolver set with
// SetControlResolver does not know it). Such a control does nothing; the run carries on.
func (e *Experiment) ControlWarnings() []string {
	var out []string
	for _, s := range controlSites(e.obj) {
		for _, c := range objects(s.raw) {
			p, _ := c.Value("provider").(*jsonvalue.Object)
			if p.Value("type") != "python" || !truthy(p.Value("module")) {
				continue
			}
			mod := pyStr(p.Value("module"))
			if f, ok := LookupControl(mod); !ok || f == nil {
				out = append(out, fmt.Sprintf("Could not find Python module '%s' in control '%s'. Did you install the Python module? The experiment will carry on running nonetheless.", mod, pyStr(c.Value("name"))))
			}
		}
	}
	return out
}

// warnControls logs ControlWarnings, as chaoslib does when it validates the experiment.
func (r *runner) warnControls() {
	for _, w := range r.exp.ControlWarnings() {
		r.log(LevelWarning, w)
	}
}
