// The official TypeScript SDK (npm `cloudflare`) against kv-mock's standalone server.
// Every check compares what was read back with what was written; any mismatch exits non-zero.
// Environment: KV_BASE_URL (".../client/v4"), KV_ACCOUNT_ID, KV_TOKEN.
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';

const baseURL = process.env.KV_BASE_URL;
const account_id = process.env.KV_ACCOUNT_ID;
const apiToken = process.env.KV_TOKEN;
assert.ok(baseURL && account_id && apiToken, 'set KV_BASE_URL, KV_ACCOUNT_ID and KV_TOKEN');

const cf = new Cloudflare({ apiToken, baseURL, maxRetries: 4 });
const kv = cf.kv.namespaces;
let checks = 0;
const check = (name, fn) => { fn(); checks += 1; console.log(`ok - ${name}`); };

// Namespaces: create, find in the list, read back.
const title = `ts-sdk-${Date.now()}`;
const ns = await kv.create({ account_id, title });
check('namespace id is 32 lowercase hex', () => assert.match(ns.id, /^[0-9a-f]{32}$/));
const titles = [];
for await (const n of kv.list({ account_id, per_page: 5 })) titles.push(n.title);
check('namespace list has the new namespace', () => assert.ok(titles.includes(title)));
const got = await kv.get(ns.id, { account_id });
check('namespace get', () => assert.equal(got.title, title));
const namespace_id = ns.id;

// Values with metadata (the SDK must be given metadata as a JSON string) and odd keys.
const keys = ['plain', 'with space', 'a/b/c', '100%', 'ключ-日本', 'q?x=1#frag', 'a..b', 'plus+and&'];
for (const [i, key] of keys.entries()) {
  const meta = { key, i, tags: ['x', 'y'] };
  await kv.values.update(key, { account_id, namespace_id, value: `value of ${key}`, metadata: JSON.stringify(meta) });
  const res = await kv.values.get(key, { account_id, namespace_id });
  const text = await res.text();
  check(`value round-trips for ${JSON.stringify(key)}`, () => assert.equal(text, `value of ${key}`));
  const readMeta = await kv.metadata.get(key, { account_id, namespace_id });
  check(`metadata round-trips for ${JSON.stringify(key)}`, () => assert.deepEqual(readMeta, meta));
}

// Binary value as a file part.
const bytes = new Uint8Array(256).map((_, i) => i);
await kv.values.update('binary', {
  account_id, namespace_id, value: new File([bytes], 'binary.bin', { type: 'application/octet-stream' }),
});
const bin = new Uint8Array(await (await kv.values.get('binary', { account_id, namespace_id })).arrayBuffer());
check('binary value round-trips byte for byte', () => assert.deepEqual(bin, bytes));

// Expiration TTL: the value's expiration header and the key list agree with the TTL asked for.
const before = Math.floor(Date.now() / 1000);
await kv.values.update('ttl-key', { account_id, namespace_id, value: 'expires', expiration_ttl: 3600 });
const ttlRes = await kv.values.get('ttl-key', { account_id, namespace_id });
const expHeader = Number(ttlRes.headers.get('expiration'));
check('expiration header is about now + 3600', () => assert.ok(expHeader >= before + 3600 && expHeader <= before + 3600 + 120, `${expHeader}`));
const ttlText = await ttlRes.text();
check('value with TTL reads back', () => assert.equal(ttlText, 'expires'));

// List across several pages, following the cursor (limit 10, 25 keys).
const pageKeys = Array.from({ length: 25 }, (_, i) => `page/${String(i).padStart(2, '0')}`);
for (const key of pageKeys) await kv.values.update(key, { account_id, namespace_id, value: key });
const listed = [];
for await (const k of kv.keys.list(namespace_id, { account_id, prefix: 'page/', limit: 10 })) listed.push(k.name);
check('list follows cursors to the end, in order, each once', () => assert.deepEqual(listed, pageKeys));
const all = [];
for await (const k of kv.keys.list(namespace_id, { account_id })) all.push(k);
const ttlInfo = all.find((k) => k.name === 'ttl-key');
check('list shows the expiration', () => assert.equal(ttlInfo.expiration, expHeader));
const plain = all.find((k) => k.name === 'plain');
check('list shows the metadata', () => assert.deepEqual(plain.metadata, { key: 'plain', i: 0, tags: ['x', 'y'] }));

// Bulk write, bulk get (with metadata), bulk delete.
const bulkItems = [
  { key: 'bulk/1', value: 'one', metadata: { n: 1 } },
  { key: 'bulk/2 space', value: 'two' },
  { key: 'bulk/3', value: Buffer.from('three').toString('base64'), base64: true, expiration_ttl: 600 },
];
const bulkRes = await kv.bulkUpdate(namespace_id, { account_id, body: bulkItems });
check('bulk update counts every key', () => assert.equal(bulkRes.successful_key_count, 3));
const bulkGot = await kv.bulkGet(namespace_id, { account_id, keys: ['bulk/1', 'bulk/2 space', 'bulk/3', 'missing'], withMetadata: true });
check('bulk get returns values and metadata', () => {
  assert.equal(bulkGot.values['bulk/1'].value, 'one');
  assert.deepEqual(bulkGot.values['bulk/1'].metadata, { n: 1 });
  assert.equal(bulkGot.values['bulk/2 space'].value, 'two');
  assert.equal(bulkGot.values['bulk/3'].value, 'three');
  assert.equal(bulkGot.values.missing, null);
});
const delRes = await kv.bulkDelete(namespace_id, { account_id, body: ['bulk/1', 'bulk/2 space', 'bulk/3'] });
check('bulk delete counts every key', () => assert.equal(delRes.successful_key_count, 3));
const afterDel = await kv.bulkGet(namespace_id, { account_id, keys: ['bulk/1', 'bulk/3'] });
check('bulk-deleted keys are gone', () => assert.deepEqual(afterDel.values, { 'bulk/1': null, 'bulk/3': null }));

// Delete, then a read is a 404 with code 10009.
await kv.values.delete('plain', { account_id, namespace_id });
let notFound;
try { await kv.values.get('plain', { account_id, namespace_id }); } catch (e) { notFound = e; }
check('deleted key reads as 404', () => assert.equal(notFound?.status, 404));

// Rename and delete the namespace.
await kv.update(namespace_id, { account_id, title: `${title}-renamed` });
const renamed = await kv.get(namespace_id, { account_id });
check('namespace rename', () => assert.equal(renamed.title, `${title}-renamed`));
await kv.delete(namespace_id, { account_id });
let gone;
try { await kv.get(namespace_id, { account_id }); } catch (e) { gone = e; }
check('deleted namespace is 404', () => assert.equal(gone?.status, 404));

console.log(`${checks} passed, 0 failed`);
