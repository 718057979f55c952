"""Python's urllib against kv-mock's standalone server: a value of 25 MiB + 1 byte sent with a
Content-Length gets the 413 envelope (not a broken pipe), and the server keeps serving.

urllib sends the whole body before it reads the answer, so this only passes because the server
reads and throws away the rest of an oversize body (within its bound) before answering.
Environment: KV_BASE_URL (".../client/v4"), KV_ACCOUNT_ID, KV_NAMESPACE_ID, KV_TOKEN.
"""

import json
import os
import sys
import urllib.error
import urllib.request

BASE_URL = os.environ["KV_BASE_URL"]
ACCOUNT = os.environ["KV_ACCOUNT_ID"]
NS = os.environ["KV_NAMESPACE_ID"]
TOKEN = os.environ["KV_TOKEN"]
LIMIT = 25 * 1024 * 1024
VALUE_TOO_LARGE = 19003
passed = 0


def check(name, condition, detail=""):
    global passed
    if not condition:
        print(f"FAILED - {name} {detail}")
        print(f"{passed} passed, 1 failed")
        sys.exit(1)
    passed += 1
    print(f"ok - {name}")


def put(key, body):
    url = f"{BASE_URL}/accounts/{ACCOUNT}/storage/kv/namespaces/{NS}/values/{key}"
    req = urllib.request.Request(url, data=body, method="PUT", headers={
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": "application/octet-stream",
        "Content-Length": str(len(body)),
    })
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


status, env = put("py-oversize", b"x" * (LIMIT + 1))
check("25 MiB + 1 byte is answered 413", status == 413, str(status))
check("with the envelope's code 19003", env["success"] is False and env["errors"][0]["code"] == VALUE_TOO_LARGE, str(env))
check("naming the announced length",
      env["errors"][0]["message"] == f"Value length of {LIMIT + 1} exceeds limit of {LIMIT}.", str(env))
status, env = put("py-at-limit", b"y" * LIMIT)
check("exactly 25 MiB is stored", status == 200 and env["success"] is True, str(status))
status, env = put("py-small", b"ok")
check("the server still serves", status == 200, str(status))
print(f"{passed} passed, 0 failed")
