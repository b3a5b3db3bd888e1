#!/usr/bin/env bash
# Golden test for `stack config`: runs the real binary in WORK_DIR and compares its stdout,
# stderr and exit status with what CASE_DIR expects. Absolute paths of WORK_DIR in the output
# are written as <dir>, so goldens do not depend on where the repository is checked out.
#
#   golden.sh STACK WORK_DIR CASE_DIR [--update]
#
# CASE_DIR may hold:
#   args      the command line after `stack` (default: config); one line, shell words
#   env       KEY=VALUE lines: the whole environment of the run (plus PATH and HOME=/nonexistent)
#   expected.out, expected.err, expected.status   what the run must print and return
set -uo pipefail
stack=$1 work=$2 case_dir=$3 update=${4:-}
args="config"
[ -f "$case_dir/args" ] && args=$(cat "$case_dir/args")
envs=(PATH=/usr/bin:/bin HOME=/nonexistent)
if [ -f "$case_dir/env" ]; then
  while IFS= read -r line; do [ -n "$line" ] && envs+=("$line"); done <"$case_dir/env"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
work_abs=$(cd "$work" && pwd -P)
# shellcheck disable=SC2086
(cd "$work_abs" && env -i "${envs[@]}" "$stack" $args) >"$tmp/out" 2>"$tmp/err" </dev/null
echo $? >"$tmp/status"
for f in out err; do sed -i "s#$work_abs#<dir>#g" "$tmp/$f"; done

if [ "$update" = "--update" ]; then
  cp "$tmp/out" "$case_dir/expected.out"
  cp "$tmp/status" "$case_dir/expected.status"
  if [ -s "$tmp/err" ]; then cp "$tmp/err" "$case_dir/expected.err"; else rm -f "$case_dir/expected.err"; fi
  echo "updated $case_dir"
  exit 0
fi
fail=0
[ -f "$case_dir/expected.err" ] || : >"$tmp/expected.err.empty"
exp_err="$case_dir/expected.err"; [ -f "$exp_err" ] || exp_err="$tmp/expected.err.empty"
diff -u "$case_dir/expected.status" "$tmp/status" || { echo "exit status differs"; fail=1; }
diff -u "$case_dir/expected.out" "$tmp/out" || { echo "stdout differs"; fail=1; }
diff -u "$exp_err" "$tmp/err" || { echo "stderr differs"; fail=1; }
exit $fail
