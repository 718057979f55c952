// Node's fetch (undici) against kv-mock's standalone server: a value of 25 MiB + 1 byte gets the
// 413 envelope, sent with a Content-Length and streamed (chunked), and the server keeps serving.
// Environment: KV_BASE_URL (".../client/v4"), KV_ACCOUNT_ID, KV_NAMESPACE_ID, KV_TOKEN.
import assert from 'node:assert/strict';

const { KV_BASE_URL: base, KV_ACCOUNT_ID: account, KV_NAMESPACE_ID: ns, KV_TOKEN: token } = process.env;
assert.ok(base && account && ns && token, 'set KV_BASE_URL, KV_ACCOUNT_ID, KV_NAMESPACE_ID and KV_TOKEN');
const LIMIT = 25 * 1024 * 1024;
const VALUE_TOO_LARGE = 19003;
let checks = 0;
const check = (name, fn) => { fn(); checks += 1; console.log(`ok - ${name}`); };
const url = (key) => `${base}/accounts/${account}/storage/kv/namespaces/${ns}/values/${key}`;
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' };

// With a Content-Length (fetch sets it for a byte array).
let r = await fetch(url('node-oversize'), { method: 'PUT', headers, body: new Uint8Array(LIMIT + 1) });
let env = await r.json();
check('25 MiB + 1 byte with a Content-Length is answered 413', () => assert.equal(r.status, 413));
check('with the envelope\'s code 19003', () => {
  assert.equal(env.success, false);
  assert.equal(env.errors[0].code, VALUE_TOO_LARGE);
  assert.equal(env.errors[0].message, `Value length of ${LIMIT + 1} exceeds limit of ${LIMIT}.`);
});

// Streamed: no length, chunked on the wire, in pieces of 1 MiB.
const piece = new Uint8Array(1024 * 1024);
let sent = 0;
const stream = new ReadableStream({
  pull(controller) {
    if (sent >= LIMIT + 1) { controller.close(); return; }
    const n = Math.min(piece.length, LIMIT + 1 - sent);
    controller.enqueue(piece.subarray(0, n));
    sent += n;
  },
});
r = await fetch(url('node-oversize-stream'), { method: 'PUT', headers, body: stream, duplex: 'half' });
env = await r.json();
check('25 MiB + 1 byte streamed is answered 413', () => assert.equal(r.status, 413));
check('with the envelope\'s code 19003', () => assert.equal(env.errors[0].code, VALUE_TOO_LARGE));

r = await fetch(url('node-small'), { method: 'PUT', headers, body: 'ok' });
check('the server still serves', () => assert.equal(r.status, 200));
console.log(`${checks} passed, 0 failed`);
