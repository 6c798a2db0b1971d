#!/bin/sh
# Replays each fuzz target's seed corpus (make check; the sanitizer build in
# CI turns any memory error into a failure).
set -eu
: "${HOIST_SRCDIR:?run through make check}"
: "${HOIST_BUILDDIR:?run through make check}"
status=0
for target in ${HOIST_FUZZ_TARGETS:-dockerfile dockerignore}; do
  if "$HOIST_BUILDDIR/tests/fuzz/replay_$target" "$HOIST_SRCDIR/tests/fuzz/corpus/$target"; then
    echo "ok - fuzz corpus $target"
  else
    echo "not ok - fuzz corpus $target"
    status=1
  fi
done
exit $status
