#!/usr/bin/env bash
# Installs the reference peer, OpenClaw, with the Node.js it needs (from npm, so the machine's own node
# may be older), into a cache folder, for the conformance tests (tests/conformance/) and side-by-side
# benchmarks. Idempotent: does nothing when the wanted version is already there. Prints the folder last.
#   usage: scripts/install-openclaw.sh [DIR]     (default: $OPENCLAW_REF_DIR or ~/.cache/openclaw-ref)
# After it: "$DIR/bin/openclaw" runs the OpenClaw CLI; "$DIR/bin/node" is Node $NODE_MAJOR.
# Needs npm on PATH (scripts/install-deps.sh installs it) and network access to the npm registry.
# Adapted from the project's shared tools/install-openclaw (same layout, so either can fill the cache).
set -euo pipefail
OPENCLAW_VERSION="${OPENCLAW_VERSION:-2026.9.6}"
NODE_MAJOR="${NODE_MAJOR:-24}"
dir="${1:-${OPENCLAW_REF_DIR:-$HOME/.cache/openclaw-ref}}"

command -v npm >/dev/null 2>&1 || {
  echo "install-openclaw: npm is not on PATH (run scripts/install-deps.sh)" >&2
  exit 1
}
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *)
    echo "install-openclaw: unsupported machine $(uname -m) (x86_64 or aarch64 needed)" >&2
    exit 1
    ;;
esac

mkdir -p "$dir/bin"
dir="$(cd "$dir" && pwd)"
if [ -x "$dir/bin/openclaw" ] && "$dir/bin/openclaw" --version 2>/dev/null | grep -qF "$OPENCLAW_VERSION"; then
  echo "install-openclaw: OpenClaw $OPENCLAW_VERSION already installed" >&2
  echo "$dir"
  exit 0
fi

cd "$dir"
[ -f package.json ] || echo '{"private":true}' >package.json
echo "install-openclaw: installing node-linux-$arch@$NODE_MAJOR into $dir" >&2
npm install --no-audit --no-fund --loglevel=error "node-linux-$arch@$NODE_MAJOR" >/dev/null
nodedir="$dir/node_modules/node-linux-$arch/bin"
[ -x "$nodedir/node" ] || {
  echo "install-openclaw: $nodedir/node is missing after npm install" >&2
  exit 1
}
ln -sf "$nodedir/node" "$dir/bin/node"
echo "install-openclaw: installing openclaw@$OPENCLAW_VERSION (with Node $("$nodedir/node" --version))" >&2
PATH="$nodedir:$PATH" npm install --no-audit --no-fund --loglevel=error "openclaw@$OPENCLAW_VERSION" >/dev/null

cat >"$dir/bin/openclaw" <<EOS
#!/usr/bin/env bash
# Written by Talon's scripts/install-openclaw.sh: OpenClaw $OPENCLAW_VERSION on its own Node.
export PATH="$nodedir:\$PATH"
exec "$nodedir/node" "$dir/node_modules/openclaw/openclaw.mjs" "\$@"
EOS
chmod +x "$dir/bin/openclaw"
installed="$("$dir/bin/openclaw" --version)"
case "$installed" in
  *"$OPENCLAW_VERSION"*) echo "install-openclaw: $installed" >&2 ;;
  *)
    echo "install-openclaw: expected OpenClaw $OPENCLAW_VERSION, got: $installed" >&2
    exit 1
    ;;
esac
echo "$dir"
