"""The official Python SDK (PyPI `cloudflare`) against kv-mock with two locations.

The server runs with `--location iad --location fra --propagation-delay 60`: a write reaches the
other location only after 60 s on the mock's clock, so within this script nothing arrives by
itself. One SDK client per location (only the base URL differs). Checks: read-your-writes at the
location written, a stale read (absent, then an older value) at the other one, and the converged
value at both after `POST /__mock/settle`; the per-key write limit is global; concurrent writes
of one key resolve to the later one at both. Any mismatch exits non-zero.
Environment: KV_IAD_URL and KV_FRA_URL (".../client/v4"), KV_ACCOUNT_ID, KV_NAMESPACE_ID,
KV_TOKEN.
"""

import json
import os
import sys
import urllib.request

import cloudflare
from cloudflare import Cloudflare

IAD = os.environ["KV_IAD_URL"]
FRA = os.environ["KV_FRA_URL"]
ACCOUNT = os.environ["KV_ACCOUNT_ID"]
NS = os.environ["KV_NAMESPACE_ID"]
TOKEN = os.environ["KV_TOKEN"]

at = {
    "iad": Cloudflare(api_token=TOKEN, base_url=IAD, max_retries=0).kv.namespaces,
    "fra": Cloudflare(api_token=TOKEN, base_url=FRA, max_retries=0).kv.namespaces,
}
passed = 0


def check(name, condition, detail=""):
    global passed
    if not condition:
        print(f"FAILED - {name} {detail}")
        print(f"{passed} passed, 1 failed")
        sys.exit(1)
    passed += 1
    print(f"ok - {name}")


def put(location, key, value, metadata=None):
    at[location].values.update(
        key, account_id=ACCOUNT, namespace_id=NS, value=value.encode(), metadata=metadata or {}
    )


def get(location, key):
    """The value of `key` at `location`, None when absent there."""
    try:
        return at[location].values.get(key, account_id=ACCOUNT, namespace_id=NS).text()
    except cloudflare.NotFoundError:
        return None


def control(method, path, body=None):
    """A control route of the mock (served at every location), its envelope's result."""
    origin = IAD.removesuffix("/client/v4")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        origin + "/__mock" + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)["result"]


names = [loc["name"] for loc in control("GET", "/locations")["locations"]]
check("the mock serves iad and fra", names == ["iad", "fra"], repr(names))

put("iad", "greeting", "hello", {"from": "iad"})
check("read-your-writes at iad", get("iad", "greeting") == "hello")
check("stale read at fra: not there yet", get("fra", "greeting") is None)
pending = control("GET", "/locations")["locations"][1]["pending"]
check(
    "GET /__mock/locations shows the put on its way to fra",
    [(p["key"], p["kind"], p["from"]) for p in pending] == [("greeting", "put", "iad")],
    repr(pending),
)

control("POST", "/settle", {})
check("after settle fra has the value", get("fra", "greeting") == "hello")
meta = at["fra"].metadata.get("greeting", account_id=ACCOUNT, namespace_id=NS)
check("after settle fra has the same write's metadata", meta == {"from": "iad"}, repr(meta))

# The limit of one write per second per key is global: move the mock's clock past it (2 s in
# all, far from the 60 s delay).
control("POST", "/clock/advance", {"seconds": 1})
put("iad", "greeting", "hello again", {"from": "iad", "n": 2})
check("stale read at fra: the older value", get("fra", "greeting") == "hello")
control("POST", "/settle", {})
check("converged at fra after settle", get("fra", "greeting") == "hello again")

put("fra", "winner", "first, at fra")
try:
    put("iad", "winner", "too soon, at iad")
    check("a second write of a key within a second at another location gets 429", False)
except cloudflare.RateLimitError:
    check("a second write of a key within a second at another location gets 429", True)
control("POST", "/clock/advance", {"seconds": 1})
put("iad", "winner", "second, at iad")
check("each location reads its own write", (get("fra", "winner"), get("iad", "winner")) == ("first, at fra", "second, at iad"))
settled = control("POST", "/settle", {})
check("nothing pending after settle", all(loc["pending"] == [] for loc in settled["locations"]), repr(settled))
both = (get("iad", "winner"), get("fra", "winner"))
check("concurrent writes converge to the later one at both", both == ("second, at iad", "second, at iad"), repr(both))

print(f"{passed} passed, 0 failed")
