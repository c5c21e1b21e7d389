// Package agent puts chaostest's node agent on a cluster: [Install] and [Uninstall] for any
// cluster (an image the user pushed to a registry), [InstallLocal] for the local one (image
// built from Go and imported into the node), [EnsureCRD] for the NetworkChaos and
// StressChaos CRDs.
//
// The agent itself is package agent/node (a controller run as a privileged DaemonSet by
// cmd/chaostest-agent); the kernel side is agent/nft (and agent/stress for the
// stressors); the API it serves is agent/v1alpha1.
package agent
