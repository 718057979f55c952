// Miniflare with one KV namespace persisted to a directory and its Local Explorer API on, for
// benches/persist/run.py: prints `url <URL>` and `namespace <ID>` once it serves, then serves
// until killed. Usage: node miniflare_server.mjs PERSIST_DIR
import { Miniflare } from "miniflare";

const dir = process.argv[2];
const mf = new Miniflare({
  modules: true,
  script: "export default { fetch() { return new Response('worker'); } };",
  kvNamespaces: { KV: "bench" },
  kvPersist: dir,
  unsafeLocalExplorer: true,
  host: "127.0.0.1",
  port: 0,
});
const url = await mf.ready;
console.log(`url ${url.origin}`);
console.log("namespace bench");
console.log("ready");
