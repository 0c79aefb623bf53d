#!/usr/bin/env bash
# The main job, end to end on this machine: an agent works on a copy of examples/project under the
# agent-safe preset plus "may write src/". It runs in bubblewrap on a FUSE mount that hides .env and
# secrets/, its write to src/ is committed back to the directory, and its attempts on the hidden
# and read-only files are denied. `cordon run` starts an ephemeral local stack (redis-server,
# gateway, node agent) because no `cordon up` is running, and tears it down afterwards.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
echo "== setup (installs what is missing; log: /tmp/cordon-setup.log) =="
bash scripts/setup.sh >/tmp/cordon-setup.log 2>&1 || { cat /tmp/cordon-setup.log; exit 1; }
source scripts/env.sh
work="$(mktemp -d /tmp/cordon-demo.XXXXXX)"
export CORDON_HOME="$work/home"
trap 'rm -rf "$work"' EXIT
cp -a examples/project "$work/project"
cordon() { node "$repo/apps/cli/src/bin.ts" "$@"; }

echo "== what an agent with this policy sees (cordon preview --show-hidden) =="
cordon preview --preset agent-safe --rule '/src/**=write@20' --show-hidden "$work/project"
echo
echo "== cordon run: the agent lists the project, probes .env, edits src/, tries README.md =="
cd "$work/project"
set +e
cordon run --preset agent-safe --rule '/src/**=write@20' -- bash -c '
  ls -la
  cat .env
  echo "print(\"written by the agent\")" > src/agent.py
  echo "# defaced" >> README.md
  exit 0'
code=$?
set -e
echo
echo "== back on the host (exit code $code) =="
echo "src/agent.py: $(cat src/agent.py)"
echo "README.md unchanged: $(head -1 README.md)"
