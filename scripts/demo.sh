#!/usr/bin/env bash
# The main job, end to end on this machine. For now: the policy compiler explaining what an agent
# with the agent-safe preset (plus one extra rule) may do with a few paths.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/setup.sh >/dev/null
source scripts/env.sh
set -x
node apps/cli/src/bin.ts policy explain --preset agent-safe --rule '/docs/**=write@20' \
  /src/index.ts /.env /.env.local /config/secrets/db.yaml /deploy/server.pem /.git/config \
  /output/report.txt /docs/guide.md /README.md
