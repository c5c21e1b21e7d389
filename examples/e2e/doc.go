// Package e2e shows chaostest inside an e2e-framework test suite: a TestMain gets the cluster
// from package cluster, and a feature's assess step runs a chaos experiment through a client
// made from the envconf.Config the framework passes to every step.
//
// The test is in feature_test.go and runs with the chaos tag, against KUBECONFIG's cluster or
// the local one:
//
//	go test -tags chaos ./examples/e2e/
//
// The hello directory is the small HTTP server the feature deploys (two replicas behind a
// Service); the experiment terminates one pod and checks that the Service keeps answering
// and the deployment recovers.
package e2e
