"""The official Python SDK (PyPI `cloudflare`) against kv-mock's standalone server.

Every check compares what was read back with what was written; any mismatch exits non-zero.
Environment: KV_BASE_URL (".../client/v4"), KV_ACCOUNT_ID, KV_TOKEN.
"""

import base64
import os
import sys
import time

import cloudflare
from cloudflare import Cloudflare

BASE_URL = os.environ["KV_BASE_URL"]
ACCOUNT = os.environ["KV_ACCOUNT_ID"]
TOKEN = os.environ["KV_TOKEN"]

cf = Cloudflare(api_token=TOKEN, base_url=BASE_URL, max_retries=4)
kv = cf.kv.namespaces
passed = 0


def check(name, condition, detail=""):
    global passed
    if not condition:
        print(f"FAILED - {name} {detail}")
        print(f"{passed} passed, 1 failed")
        sys.exit(1)
    passed += 1
    print(f"ok - {name}")


# Namespaces.
title = f"py-sdk-{time.time_ns()}"
ns = kv.create(account_id=ACCOUNT, title=title)
check("namespace id is 32 lowercase hex", len(ns.id) == 32 and all(c in "0123456789abcdef" for c in ns.id))
titles = [n.title for n in kv.list(account_id=ACCOUNT, per_page=5)]
check("namespace list has the new namespace", title in titles, str(titles))
check("namespace get", kv.get(ns.id, account_id=ACCOUNT).title == title)
NS = ns.id

# Values with metadata and odd keys; the SDK sends multipart.
keys = ["plain", "with space", "a/b/c", "100%", "ключ-日本", "q?x=1#frag", "a..b", "plus+and&"]
for i, key in enumerate(keys):
    meta = {"key": key, "i": i, "tags": ["x", "y"]}
    kv.values.update(key, account_id=ACCOUNT, namespace_id=NS, value=f"value of {key}".encode(), metadata=meta)
    text = kv.values.get(key, account_id=ACCOUNT, namespace_id=NS).text()
    check(f"value round-trips for {key!r}", text == f"value of {key}", repr(text))
    read_meta = kv.metadata.get(key, account_id=ACCOUNT, namespace_id=NS)
    check(f"metadata round-trips for {key!r}", read_meta == meta, repr(read_meta))

# Binary value as a file part.
blob = bytes(range(256))
kv.values.update("binary", account_id=ACCOUNT, namespace_id=NS, value=("upload", blob, "application/octet-stream"))
check("binary value round-trips byte for byte", kv.values.get("binary", account_id=ACCOUNT, namespace_id=NS).read() == blob)

# Expiration TTL.
before = int(time.time())
kv.values.update("ttl-key", account_id=ACCOUNT, namespace_id=NS, value=b"expires", expiration_ttl=3600)
res = kv.values.get("ttl-key", account_id=ACCOUNT, namespace_id=NS)
exp = int(res.headers.get("expiration", "0"))
check("expiration header is about now + 3600", before + 3600 <= exp <= before + 3600 + 120, str(exp))
check("value with TTL reads back", res.text() == "expires")

# List across several pages.
page_keys = [f"page/{i:02d}" for i in range(25)]
for key in page_keys:
    kv.values.update(key, account_id=ACCOUNT, namespace_id=NS, value=key.encode())
listed = [k.name for k in kv.keys.list(NS, account_id=ACCOUNT, prefix="page/", limit=10)]
check("list follows cursors to the end, in order, each once", listed == page_keys, repr(listed))
everything = {k.name: k for k in kv.keys.list(NS, account_id=ACCOUNT)}
check("list shows the expiration", everything["ttl-key"].expiration == exp)
check("list shows the metadata", everything["plain"].metadata == {"key": "plain", "i": 0, "tags": ["x", "y"]})

# Bulk write, bulk get with metadata, bulk delete.
items = [
    {"key": "bulk/1", "value": "one", "metadata": {"n": 1}},
    {"key": "bulk/2 space", "value": "two"},
    {"key": "bulk/3", "value": base64.b64encode(b"three").decode(), "base64": True, "expiration_ttl": 600},
]
res = kv.bulk_update(NS, account_id=ACCOUNT, body=items)
check("bulk update counts every key", res.successful_key_count == 3, repr(res))
got = kv.bulk_get(NS, account_id=ACCOUNT, keys=["bulk/1", "bulk/2 space", "bulk/3", "missing"], with_metadata=True)
values = got.values
check("bulk get returns values and metadata", values["bulk/1"].value == "one" and values["bulk/1"].metadata == {"n": 1}, repr(values))
check("bulk get decodes base64 writes", values["bulk/3"].value == "three", repr(values["bulk/3"]))
check("bulk get gives null for a missing key", values["missing"] is None)
res = kv.bulk_delete(NS, account_id=ACCOUNT, body=["bulk/1", "bulk/2 space", "bulk/3"])
check("bulk delete counts every key", res.successful_key_count == 3)
after = kv.bulk_get(NS, account_id=ACCOUNT, keys=["bulk/1", "bulk/3"])
check("bulk-deleted keys are gone", after.values == {"bulk/1": None, "bulk/3": None}, repr(after.values))

# Delete, then a read is a 404.
kv.values.delete("plain", account_id=ACCOUNT, namespace_id=NS)
try:
    kv.values.get("plain", account_id=ACCOUNT, namespace_id=NS)
    check("deleted key reads as 404", False)
except cloudflare.NotFoundError:
    check("deleted key reads as 404", True)

# Rename and delete the namespace.
kv.update(NS, account_id=ACCOUNT, title=title + "-renamed")
check("namespace rename", kv.get(NS, account_id=ACCOUNT).title == title + "-renamed")
kv.delete(NS, account_id=ACCOUNT)
try:
    kv.get(NS, account_id=ACCOUNT)
    check("deleted namespace is 404", False)
except cloudflare.NotFoundError:
    check("deleted namespace is 404", True)

# Seeded by `--seed seeded=compat/seed.json`: read back with the SDK; then a snapshot and a
# restore through the control routes (which need the same token), as a suite would between tests.
import json
import urllib.request

SEEDED = os.environ["KV_SEEDED_NAMESPACE_ID"]
CONTROL = os.environ["KV_CONTROL_URL"]


def control(method, path, body=None):
    req = urllib.request.Request(
        CONTROL + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


greeting = kv.values.get("config/greeting", account_id=ACCOUNT, namespace_id=SEEDED).text()
check("a seeded value reads back", greeting == "hello from --seed", repr(greeting))
meta = kv.metadata.get("config/greeting", account_id=ACCOUNT, namespace_id=SEEDED)
check("seeded metadata reads back", meta == {"source": "seed.json"}, repr(meta))
raw = kv.values.get("config/binary", account_id=ACCOUNT, namespace_id=SEEDED).read()
check("a seeded base64 value reads back as its bytes", raw == bytes([0, 1, 2, 3, 255]), repr(raw))
listed = {k.name: k.expiration for k in kv.keys.list(SEEDED, account_id=ACCOUNT, prefix="config/")}
check(
    "the seeded keys are listed with their expiration",
    listed == {"config/binary": None, "config/expiring": 4102444800, "config/greeting": None},
    repr(listed),
)
try:
    urllib.request.urlopen(CONTROL + "/snapshot", data=b"")
    check("the control routes refuse a request without the token", False)
except urllib.error.HTTPError as e:
    check("the control routes refuse a request without the token", e.code == 403, str(e.code))
snapshot = control("POST", "/snapshot")["result"]["id"]
kv.values.update("config/greeting", account_id=ACCOUNT, namespace_id=SEEDED, value=b"changed by a test")
kv.values.delete("config/binary", account_id=ACCOUNT, namespace_id=SEEDED)
control("POST", "/restore", {"id": snapshot})
greeting = kv.values.get("config/greeting", account_id=ACCOUNT, namespace_id=SEEDED).text()
check("a restore brings the seeded value back", greeting == "hello from --seed", repr(greeting))
raw = kv.values.get("config/binary", account_id=ACCOUNT, namespace_id=SEEDED).read()
check("a restore brings a deleted key back", raw == bytes([0, 1, 2, 3, 255]), repr(raw))
req = urllib.request.Request(f"{CONTROL}/export?namespace={SEEDED}", headers={"Authorization": f"Bearer {TOKEN}"})
with urllib.request.urlopen(req) as resp:
    exported = json.loads(resp.read())
check("an export lists the seeded items", [i["key"] for i in exported] == sorted(listed), repr(exported))

print(f"{passed} passed, 0 failed")
