# Puts a supported Node.js first on PATH for this shell. Source it from bash or zsh:
#
#   . scripts/use-node.sh
#
# If the `node` on PATH is at least the minimum in package.json `engines` (wrangler's own
# minimum), it is kept. Otherwise the version in .nvmrc is installed from the npm registry's
# node-<os>-<arch> package (the official binary) into .node/ (ignored by git) and put first on
# PATH. Needs the machine's npm, which runs under any Node it ships with. .ci/run sources it too.

_use_node() {
  _root=$(cd "$(dirname "$1")/.." && pwd) || return 1

  # Is `node` on PATH new enough? (engines is ">=X.Y.Z".)
  if command -v node >/dev/null 2>&1 && node -e '
    const min = require(process.argv[1]).engines.node.replace(/^>=\s*/, "").split(".").map(Number);
    const cur = process.versions.node.split(".").map(Number);
    for (let i = 0; i < 3; i++) if (cur[i] !== min[i]) process.exit(cur[i] > min[i] ? 0 : 1);
  ' "$_root/package.json"; then
    return 0
  fi

  case "$(uname -s)" in
    Linux) _os=linux ;;
    Darwin) _os=darwin ;;
    *) echo "use-node: no prebuilt Node for $(uname -s) on npm; install Node $(cat "$_root/.nvmrc") yourself" >&2; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) _arch=x64 ;;
    aarch64 | arm64) _arch=arm64 ;;
    *) echo "use-node: no prebuilt Node for $(uname -m) on npm; install Node $(cat "$_root/.nvmrc") yourself" >&2; return 1 ;;
  esac

  _version=$(cat "$_root/.nvmrc")
  _bin="$_root/.node/node_modules/node-$_os-$_arch/bin"
  if [ "$("$_bin/node" --version 2>/dev/null)" != "v$_version" ]; then
    echo "use-node: $(node --version 2>/dev/null || echo 'no node') is older than package.json engines; installing Node $_version into .node/" >&2
    npm install --prefix "$_root/.node" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      "node-$_os-$_arch@$_version" >&2 || return 1
  fi
  PATH="$_bin:$PATH"
  export PATH
}

# bash names the sourced file in BASH_SOURCE, zsh in $0.
_use_node "${BASH_SOURCE[0]:-$0}"
_use_node_status=$?
unset -f _use_node
unset _root _os _arch _version _bin
[ "$_use_node_status" -eq 0 ] || { unset _use_node_status; return 1 2>/dev/null || exit 1; }
unset _use_node_status
