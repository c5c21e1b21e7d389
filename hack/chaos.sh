#!/usr/bin/env bash
# chaos.sh — `make chaos`: run the chaos-tagged tests against a real cluster.
#  * KUBECONFIG set and the cluster answers: run the tests against it; start nothing.
#  * a healthy local cluster already runs (make cluster): use it and leave it running.
#  * otherwise: install the node's packages if missing, build (cached), run the local cluster's
#    own lifecycle test (it starts and stops a cluster of its own, so it runs first, alone),
#    start the shared local cluster, run the tests with KUBECONFIG exported, and always stop the
#    cluster afterwards. Exits with the tests' status.
set -uo pipefail
GO=${GO:-go}
PKGS=${PKGS:-./...}
LOCALK8S=${LOCALK8S:-bin/localk8s}
TESTARGS=(-race -count=1 -tags chaos ${CHAOS_TESTFLAGS:-})

run_tests() {
  echo "== go test ${TESTARGS[*]} $PKGS   (KUBECONFIG=$KUBECONFIG)"
  # shellcheck disable=SC2086
  "$GO" test "${TESTARGS[@]}" $PKGS
}

if [ -n "${KUBECONFIG:-}" ]; then
  if "$LOCALK8S" reachable; then
    run_tests
    exit $?
  fi
  echo "chaos: KUBECONFIG=$KUBECONFIG does not answer; using the local cluster instead" >&2
  unset KUBECONFIG
fi

if "$LOCALK8S" status >/dev/null 2>&1; then
  export KUBECONFIG
  KUBECONFIG=$("$LOCALK8S" kubeconfig)
  echo "chaos: using the running local cluster (left running; its lifecycle test is not run because it would stop the cluster)"
  run_tests
  exit $?
fi

hack/setup-host.sh || exit 1
"$LOCALK8S" build || exit 1

rc=0
echo "== lifecycle test of the local cluster (up, checks, down, nothing left behind)"
"$GO" test -race -count=1 -tags 'chaos lifecycle' -run '^TestLifecycle' ./internal/cluster/ || rc=1

trap '"$LOCALK8S" down' EXIT
"$LOCALK8S" up || exit 1
export KUBECONFIG
KUBECONFIG=$("$LOCALK8S" kubeconfig)
run_tests || rc=$?
exit $rc
