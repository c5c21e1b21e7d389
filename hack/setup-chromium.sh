#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium (package "chromium") when it is missing, for the
# journal package's real-browser report test (journal/browser_test.go). Idempotent: does nothing
# when a chromium binary is already on PATH or at /usr/bin/chromium.
# Needs root (or sudo) and the Debian package mirror; prints where chromium is at the end.
set -euo pipefail

have_chromium() {
	command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]
}

if have_chromium; then
	echo "setup-chromium: $(chromium --version 2>/dev/null || echo chromium) already installed"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "setup-chromium: chromium is missing and this user is not root (no sudo either)" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
# Retry a few times: apt may be locked briefly by another installer.
for attempt in 1 2 3; do
	if $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; then
		break
	fi
	if [ "$attempt" -eq 3 ]; then
		echo "setup-chromium: apt-get install chromium failed 3 times" >&2
		exit 1
	fi
	sleep 5
done

if ! have_chromium; then
	echo "setup-chromium: apt-get reported success but no chromium binary was found" >&2
	exit 1
fi
echo "setup-chromium: installed $(chromium --version 2>/dev/null || echo chromium)"
