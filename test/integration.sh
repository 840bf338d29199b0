#!/usr/bin/env bash
# The integration suite as two mocha processes at once: the vault's files (bound by restic's own work:
# its key derivation for every process, its prune and check) beside all the others (mostly waiting on
# child processes and servers), so that the two cores are both used. Each group's output is printed
# whole, one after the other; the exit status is the first failing group's.
set -uo pipefail
cd "$(dirname "$0")/.."
rm -f oclif.manifest.json
VAULT=("test/integration/commands/vault*.test.ts" "test/integration/restic/**/*.test.ts")
vault_log="$(mktemp /tmp/pbm-vault-tests.XXXXXX)"
trap 'rm -f "$vault_log"' EXIT

npx mocha "${VAULT[@]}" >"$vault_log" 2>&1 &
vault_pid=$!
npx mocha "test/integration/**/*.test.ts" "${VAULT[@]/#/--ignore=}"
others=$?
wait "$vault_pid"
vault=$?
echo
echo "== the vault's tests (run beside the others)"
cat "$vault_log"
if [ "$others" -ne 0 ]; then exit "$others"; fi
exit "$vault"
