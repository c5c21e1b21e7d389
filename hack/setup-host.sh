#!/usr/bin/env bash
# setup-host.sh — install what the local cluster's real node needs from Debian, when missing:
# containerd, runc, the CNI plugins, iptables, conntrack (and iproute2 for `ip`). Idempotent:
# installs nothing (and does not touch apt) when everything is present. Needs root for apt.
# The control plane needs none of these: it is built from the Go module proxy (make k8s).
set -euo pipefail
need=()
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/portmap ] || need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
command -v conntrack >/dev/null || need+=(conntrack)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -eq 0 ]; then
  echo "setup-host: containerd, runc, CNI plugins, iptables, conntrack, iproute2 already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-host: missing ${need[*]}; run as root (apt-get install) to install them" >&2
  exit 1
fi
echo "setup-host: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
# Debian may start a system containerd under systemd; the cluster runs its own private instance
# (own socket under /run/chaostest) and never uses or stops the system one.
