#!/usr/bin/env bash
# Patches fuse-native 2.2.6 (unmaintained) and rebuilds its native addon from source:
#   - utimens passed the access time twice (mtime was always set to atime) and mangled
#     UTIME_NOW/UTIME_OMIT; fixed.
#   - mount option `cordon_native_io`: read/flush/fsync served on the FUSE thread (pread on the
#     handle's fd) instead of a round trip to the single JavaScript thread.
#   - mount option `cordon_attr_cache` (patch level 2): getattr and open-for-read of paths whose
#     decision JavaScript cached are served on the FUSE threads; readdir takes one packed Buffer;
#     unmount reaps libfuse's auto_unmount `fusermount` watchdog.
# Patches fuse-native.c and index.js; pristine copies are kept beside them as *.orig.
# Idempotent: re-running it when the source is patched and the build is current does nothing.
# Called from scripts/setup.sh after `npm ci` (which restores the pristine package).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=env.sh
source "$repo/scripts/env.sh"
patch_file="$repo/apps/node-agent/patches/fuse-native+2.2.6.patch"
pkg="$(cd "$repo" && node -p "require('path').dirname(require.resolve('fuse-native/package.json'))")"
version="$(node -p "require('$pkg/package.json').version")"
if [ "$version" != "2.2.6" ]; then
  echo "patch-fuse-native: fuse-native is $version, the patch is for 2.2.6; update $patch_file" >&2
  exit 1
fi

# The patched files; each keeps a pristine copy beside it (<file>.orig) to re-patch from.
files=(fuse-native.c index.js)
stamp="$pkg/build/Release/.cordon-patch-stamp"
want="$(sha256sum "$patch_file" | cut -d' ' -f1) $(node -v)"
current=no
[ -f "$pkg/build/Release/fuse.node" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && current=yes
for f in "${files[@]}"; do
  grep -q 'CORDON PATCH' "$pkg/$f" || current=no
done

if [ "$current" = yes ]; then
  echo "patch-fuse-native: source already patched"
else
  for f in "${files[@]}"; do
    if [ ! -f "$pkg/$f.orig" ]; then
      if grep -q 'CORDON PATCH' "$pkg/$f"; then
        echo "patch-fuse-native: $pkg/$f is patched but $f.orig is missing; run npm ci" >&2
        exit 1
      fi
      cp "$pkg/$f" "$pkg/$f.orig"
    fi
    cp "$pkg/$f.orig" "$pkg/$f"
  done
  echo "patch-fuse-native: applying $(basename "$patch_file")"
  patch --forward --batch -p1 -d "$pkg" < "$patch_file"
fi

if [ "$current" = yes ]; then
  echo "patch-fuse-native: build is current"
else
  gyp=()
  if command -v node-gyp >/dev/null 2>&1; then
    gyp=(node-gyp)
  else
    # npm bundles node-gyp: find it beside the npm that is on PATH.
    npm_dir="$(dirname "$(readlink -f "$(command -v npm)")")/.."
    bundled="$npm_dir/node_modules/node-gyp/bin/node-gyp.js"
    if [ -f "$bundled" ]; then
      gyp=(node "$bundled")
    else
      gyp=(npx --no-install node-gyp)
    fi
  fi
  echo "patch-fuse-native: rebuilding with ${gyp[*]} (nodedir=${npm_config_nodedir:-default})"
  (cd "$pkg" && "${gyp[@]}" rebuild --release >/tmp/cordon-fuse-native-build.log 2>&1) || {
    tail -n 40 /tmp/cordon-fuse-native-build.log >&2
    echo "patch-fuse-native: build failed (needs g++, make, python3 and Node headers: source scripts/env.sh)" >&2
    exit 1
  }
  echo "$want" > "$stamp"
fi

level="$(cd "$pkg" && node -p "require('node-gyp-build')('.').cordon_patch_level || 0")"
if [ "$level" -lt 1 ]; then
  echo "patch-fuse-native: the loaded addon is not the patched build" >&2
  exit 1
fi
echo "patch-fuse-native: ok (patch level $level)"
