#!/usr/bin/env bash
# Installs Debian's python3 when no `python3` is on PATH, for the tests of Python providers
# through the bridge (internal/pybridge, engine/python_test.go, cmd/chaostest/python_test.go).
# chaostest itself never needs Python; only those tests do. Idempotent: does nothing when a
# python3 is already on PATH. Needs root (or sudo) and the Debian package mirror.
set -euo pipefail

if command -v python3 >/dev/null 2>&1; then
	echo "setup-python: $(python3 --version 2>&1) already on PATH ($(command -v python3))"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "setup-python: python3 is missing and this user is not root (no sudo either)" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
# Retry a few times: apt may be locked briefly by another installer.
for attempt in 1 2 3; do
	if $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends python3; then
		break
	fi
	if [ "$attempt" -eq 3 ]; then
		echo "setup-python: apt-get install python3 failed 3 times" >&2
		exit 1
	fi
	sleep 5
done

if ! command -v python3 >/dev/null 2>&1; then
	echo "setup-python: apt-get reported success but no python3 is on PATH" >&2
	exit 1
fi
echo "setup-python: installed $(python3 --version 2>&1)"
