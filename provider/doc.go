// Package provider is the API for authors of providers: Go functions that experiment files call
// under Chaos Toolkit's Python names, and provider types (the "type" of a provider object, as
// "http" and "process").
//
// A provider package registers its functions from an init function:
//
//	type scaleArgs struct {
//		Name     string `arg:"name"`
//		Replicas int    `arg:"replicas"`
//	}
//
//	func init() {
//		provider.Register("chaosk8s.deployment.actions.scale_deployment", "Scale a deployment.",
//			func(ctx context.Context, env provider.Env, a scaleArgs) (any, error) { ... })
//	}
//
// A provider receives a context (cancelled at the activity's timeout or when the run is
// interrupted) and an Env (configuration, secrets, logging). An error is Chaos Toolkit's
// ActivityFailed; an error wrapped with Crash is one chaoslib would not catch. Test authors do
// not need this package: package chaostest builds activities, and the engine package runs them.
package provider
