// kv-mock's page. It talks to the mock only through the API (/client/v4/...) and the control
// routes (/__mock/...), exactly as a script would.
//
// Safety rule: nothing from the mock (keys, values, metadata, titles, paths, messages) is ever
// parsed as HTML. Elements are built with `el()` below, which sets text with `textContent` /
// text nodes and attributes with `setAttribute`; no HTML-parsing sink is used in this file.
//
// Layout: each panel of the page is a <section> of index.html plus one entry in `panels` at the
// bottom ({ init(), poll() }): `init` runs once, `poll` on every tick (every 2 s). A later panel
// (locations with their pending writes, snapshots) is one more section and one more entry.
"use strict";

const TICK_MS = 2000;
const MAX_LOG_ROWS = 500;
const MAX_HEX_BYTES = 64 * 1024;

const state = {
  apiBase: "/client/v4",
  account: "",
  namespaces: [],
  ns: null, // the selected namespace id
  keysPage: [], // the entries of the page shown
  cursors: [""], // the cursor of each page visited (first page: "")
  nextCursor: "",
  clock: { now: 0, now_millis: 0, frozen: false },
  opened: null, // { name, expiration } of the key shown in the viewer
  logLength: -1,
  logFilter: "",
};

// ---------------------------------------------------------------- DOM helpers

function $(id) {
  return document.getElementById(id);
}

/** An element with attributes (on* are listeners) and children (strings become text nodes). */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, String(v));
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function clear(node) {
  node.replaceChildren();
}

function showMessage(text) {
  const m = $("message");
  m.textContent = text;
  m.hidden = !text;
}

// ---------------------------------------------------------------- HTTP

/** Thrown for an answer that is not a success: the API's own message(s). */
class ApiFailure extends Error {}

function authHeaders() {
  const token = $("api-token").value;
  return token ? { Authorization: "Bearer " + token } : {};
}

/** The message of a failed answer: the envelope's errors when there are some. */
async function failure(resp) {
  let text = await resp.text();
  try {
    const env = JSON.parse(text);
    if (env && Array.isArray(env.errors) && env.errors.length) {
      text = env.errors.map((e) => `${e.message} (code ${e.code})`).join("; ");
    }
  } catch (_) {
    // not JSON: keep the text
  }
  return new ApiFailure(`HTTP ${resp.status}: ${text || resp.statusText}`);
}

/** A JSON call; resolves to the whole envelope, rejects with the API's message. */
async function call(method, path, body) {
  const init = { method, headers: { ...authHeaders() } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const resp = await fetch(path, init);
  if (!resp.ok) throw await failure(resp);
  return resp.json();
}

const control = (method, path, body) => call(method, "/__mock" + path, body).then((e) => e.result);

function nsPath(id) {
  return `${state.apiBase}/accounts/${encodeURIComponent(state.account)}/storage/kv/namespaces` +
    (id === undefined ? "" : "/" + encodeURIComponent(id));
}

/** The path of a key's value or metadata: the key is one percent-encoded segment. */
function keyPath(kind, name) {
  return `${nsPath(state.ns)}/${kind}/${encodeURIComponent(name)}`;
}

/**
 * Runs an action, showing its failure in `where` (an element) or the page's message; a user's
 * action that succeeds clears that message, a background one (`background`) leaves it.
 */
async function attempt(action, where, background) {
  if (where) where.textContent = "";
  try {
    await action();
    if (!where && !background) showMessage("");
    return true;
  } catch (e) {
    const text = e instanceof ApiFailure ? e.message : "Error: " + e.message;
    if (where) where.textContent = text;
    else showMessage(text);
    return false;
  }
}

// ---------------------------------------------------------------- formatting

function isoOf(secs) {
  return new Date(secs * 1000).toISOString().replace(".000Z", "Z");
}

/** "in 4 min" / "expired", relative to the mock's clock (not the browser's). */
function relative(expiration) {
  const d = expiration - state.clock.now;
  if (d <= 0) return "expired";
  if (d < 120) return `in ${d} s`;
  if (d < 7200) return `in ${Math.round(d / 60)} min`;
  if (d < 172800) return `in ${Math.round(d / 3600)} h`;
  return `in ${Math.round(d / 86400)} d`;
}

function expirationText(expiration) {
  return expiration ? `${isoOf(expiration)} (${relative(expiration)})` : "never";
}

function sizeText(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function hexDump(bytes) {
  const lines = [];
  const n = Math.min(bytes.length, MAX_HEX_BYTES);
  for (let off = 0; off < n; off += 16) {
    const row = bytes.subarray(off, Math.min(off + 16, n));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0")).join(" ");
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${off.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${ascii}`);
  }
  if (bytes.length > n) lines.push(`… ${bytes.length - n} more bytes not shown`);
  return lines.join("\n");
}

/** How a value is shown: JSON objects and arrays pretty-printed, other UTF-8 as text, else hex. */
function describeValue(bytes) {
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (_) {
    return { kind: "binary", shown: hexDump(bytes), text: null };
  }
  try {
    const parsed = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object") {
      return { kind: "JSON", shown: JSON.stringify(parsed, null, 2), text };
    }
  } catch (_) {
    // not JSON
  }
  return { kind: "text", shown: text, text };
}

// ---------------------------------------------------------------- clock, rate limit, reset

function renderClock() {
  $("clock-now").textContent = isoOf(state.clock.now);
  const badge = $("clock-frozen");
  badge.textContent = state.clock.frozen ? "frozen" : "running";
  badge.className = state.clock.frozen ? "badge frozen" : "badge";
}

const clockPanel = {
  init() {
    $("advance-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const seconds = Number($("advance-amount").value) * Number($("advance-unit").value);
      attempt(async () => {
        state.clock = await control("POST", "/clock/advance", { seconds });
        renderClock();
        await refreshAfterChange();
      });
    });
    $("rate-limit").addEventListener("change", (ev) => {
      attempt(async () => {
        const r = await control("POST", "/rate-limit", { enabled: ev.target.checked });
        ev.target.checked = r.enabled;
      });
    });
    $("reset").addEventListener("click", () => {
      if (!window.confirm("Reset: delete all data, extra namespaces, faults and the request log?")) return;
      attempt(async () => {
        await control("POST", "/reset");
        state.opened = null;
        $("viewer").hidden = true;
        await loadNamespaces();
        await refreshAfterChange();
      });
    });
  },
  async poll() {
    state.clock = await control("GET", "/clock");
    renderClock();
    updateExpirations();
    $("rate-limit").checked = (await control("GET", "/rate-limit")).enabled;
  },
};

/** After anything that changes the data or the clock: the keys, the opened key, the log. */
async function refreshAfterChange() {
  await listKeys(state.cursors[state.cursors.length - 1]);
  if (state.opened) await openKey(state.opened.name, state.opened.expiration);
  await pollRequests();
  await faultsPanel.poll();
}

// ---------------------------------------------------------------- namespaces

async function loadNamespaces() {
  const all = [];
  for (let page = 1; ; page++) {
    const env = await call("GET", `${nsPath()}?per_page=100&page=${page}`);
    all.push(...env.result);
    if (env.result.length < 100) break;
  }
  state.namespaces = all;
  if (!all.some((n) => n.id === state.ns)) {
    state.ns = all.length ? all[0].id : null;
    state.cursors = [""];
  }
  renderNamespaces();
}

function renderNamespaces() {
  const list = $("namespace-list");
  clear(list);
  for (const ns of state.namespaces) {
    const title = el("button", { class: "link grow", type: "button", title: ns.id, onclick: () => selectNamespace(ns.id) }, ns.title);
    const li = el("li", { class: ns.id === state.ns ? "selected" : "", "data-id": ns.id }, title);
    li.append(
      el("button", { type: "button", onclick: () => startRename(li, ns) }, "Rename"),
      el("button", { type: "button", class: "danger", onclick: () => deleteNamespace(ns) }, "Delete"),
    );
    list.append(li);
  }
  const current = state.namespaces.find((n) => n.id === state.ns);
  $("keys-namespace").textContent = current ? `in ${current.title}` : "(no namespace)";
}

function startRename(li, ns) {
  const input = el("input", { "aria-label": "new title", required: "" });
  input.value = ns.title;
  const form = el("form", { class: "inline grow" }, input, el("button", { type: "submit" }, "Save"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    attempt(async () => {
      await call("PUT", nsPath(ns.id), { title: input.value });
      await loadNamespaces();
    });
  });
  li.replaceChildren(form, el("button", { type: "button", onclick: renderNamespaces }, "Cancel"));
  input.focus();
}

function deleteNamespace(ns) {
  if (!window.confirm(`Delete the namespace "${ns.title}" and all its keys?`)) return;
  attempt(async () => {
    await call("DELETE", nsPath(ns.id));
    await loadNamespaces();
    await listKeys("");
  });
}

function selectNamespace(id) {
  state.ns = id;
  state.cursors = [""];
  state.opened = null;
  $("viewer").hidden = true;
  renderNamespaces();
  attempt(() => listKeys(""));
}

const namespacesPanel = {
  async init() {
    $("namespace-create").addEventListener("submit", (ev) => {
      ev.preventDefault();
      attempt(async () => {
        const env = await call("POST", nsPath(), { title: $("namespace-title").value });
        $("namespace-title").value = "";
        await loadNamespaces();
        selectNamespace(env.result.id);
      });
    });
    await loadNamespaces();
  },
  poll() {},
};

// ---------------------------------------------------------------- keys

async function listKeys(cursor) {
  if (!state.ns) {
    state.keysPage = [];
    renderKeys();
    return;
  }
  const q = new URLSearchParams({ limit: $("keys-limit").value || "50" });
  const prefix = $("keys-prefix").value;
  if (prefix) q.set("prefix", prefix);
  if (cursor) q.set("cursor", cursor);
  const env = await call("GET", `${nsPath(state.ns)}/keys?${q}`);
  state.keysPage = env.result;
  state.nextCursor = (env.result_info && env.result_info.cursor) || "";
  renderKeys();
}

function renderKeys() {
  const body = $("keys-table").tBodies[0];
  clear(body);
  for (const k of state.keysPage) {
    const open = el("button", { class: "link", type: "button", onclick: () => attempt(() => openKey(k.name, k.expiration)) }, k.name);
    body.append(el("tr", { "data-key": k.name },
      el("td", { class: "mono" }, open),
      el("td", { class: "expiration", "data-expiration": k.expiration || 0 }, expirationText(k.expiration)),
      el("td", { class: "mono" }, k.metadata === undefined ? "" : JSON.stringify(k.metadata))));
  }
  const page = state.cursors.length;
  $("keys-count").textContent = `page ${page}, ${state.keysPage.length} key(s)` + (state.nextCursor ? ", more" : "");
  $("keys-next").disabled = !state.nextCursor;
  $("keys-first").disabled = page === 1;
}

/** The relative expirations of the listed keys, as the clock moves (the rows stay in place). */
function updateExpirations() {
  for (const td of $("keys-table").querySelectorAll("td.expiration")) {
    td.textContent = expirationText(Number(td.getAttribute("data-expiration")));
  }
}

const keysPanel = {
  init() {
    $("keys-filter").addEventListener("submit", (ev) => {
      ev.preventDefault();
      state.cursors = [""];
      attempt(() => listKeys(""));
    });
    $("keys-next").addEventListener("click", () => {
      state.cursors.push(state.nextCursor);
      attempt(() => listKeys(state.nextCursor));
    });
    $("keys-first").addEventListener("click", () => {
      state.cursors = [""];
      attempt(() => listKeys(""));
    });
    return listKeys("");
  },
  poll() {},
};

// ---------------------------------------------------------------- one key

async function openKey(name, expiration) {
  const viewer = $("viewer");
  viewer.hidden = false;
  $("viewer-key").textContent = name;
  const resp = await fetch(keyPath("values", name), { headers: authHeaders() });
  if (resp.status === 404) {
    state.opened = null;
    $("viewer-info").textContent = "gone: not found (deleted or expired)";
    $("viewer-value").textContent = "";
    $("viewer-metadata").textContent = "";
    $("viewer-edit").disabled = true;
    $("viewer-delete").disabled = true;
    return;
  }
  if (!resp.ok) throw await failure(resp);
  const header = resp.headers.get("expiration");
  if (header) expiration = Number(header);
  const bytes = new Uint8Array(await resp.arrayBuffer());
  const meta = await call("GET", keyPath("metadata", name));
  const value = describeValue(bytes);
  state.opened = { name, expiration, value, metadata: meta.result };
  $("viewer-info").textContent =
    `${value.kind}, ${sizeText(bytes.length)} (${bytes.length} bytes), expires: ${expirationText(expiration)}`;
  $("viewer-value").textContent = value.shown;
  $("viewer-metadata").textContent =
    meta.result === null || meta.result === undefined ? "(none)" : JSON.stringify(meta.result, null, 2);
  $("viewer-edit").disabled = false;
  $("viewer-delete").disabled = false;
}

const viewerPanel = {
  init() {
    $("viewer-close").addEventListener("click", () => {
      state.opened = null;
      $("viewer").hidden = true;
    });
    $("viewer-delete").addEventListener("click", () => {
      const o = state.opened;
      if (!o || !window.confirm(`Delete the key "${o.name}"?`)) return;
      attempt(async () => {
        await call("DELETE", keyPath("values", o.name));
        await refreshAfterChange();
      });
    });
    $("viewer-edit").addEventListener("click", () => {
      const o = state.opened;
      if (!o) return;
      $("put-key").value = o.name;
      $("put-value").value = o.value.text === null ? "" : o.value.text;
      $("put-metadata").value = o.metadata === null || o.metadata === undefined ? "" : JSON.stringify(o.metadata);
      $("put-ttl").value = "";
      $("put-expiration").value = o.expiration || "";
      $("put-error").textContent = o.value.text === null
        ? "This value is binary: putting it from here replaces it with the text above." : "";
      $("put-key").focus();
    });
  },
  poll() {},
};

const putPanel = {
  init() {
    $("put-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const name = $("put-key").value;
      attempt(async () => {
        if (!state.ns) throw new Error("no namespace selected");
        const form = new FormData();
        form.append("value", $("put-value").value);
        const metadata = $("put-metadata").value.trim();
        if (metadata) form.append("metadata", metadata);
        const q = new URLSearchParams();
        if ($("put-ttl").value !== "") q.set("expiration_ttl", $("put-ttl").value);
        else if ($("put-expiration").value !== "") q.set("expiration", $("put-expiration").value);
        const query = q.toString() ? "?" + q : "";
        await call("PUT", keyPath("values", name) + query, form);
        await listKeys(state.cursors[state.cursors.length - 1]);
        const listed = state.keysPage.find((k) => k.name === name);
        await openKey(name, listed ? listed.expiration : undefined);
        await pollRequests();
      }, $("put-error"));
    });
  },
  poll() {},
};

// ---------------------------------------------------------------- request log

async function pollRequests(force) {
  const log = await control("GET", "/requests");
  const filter = $("requests-status").value;
  if (!force && log.length === state.logLength && filter === state.logFilter) return;
  state.logLength = log.length;
  state.logFilter = filter;
  const body = $("requests-table").tBodies[0];
  clear(body);
  let shown = 0;
  for (let i = log.length - 1; i >= 0 && shown < MAX_LOG_ROWS; i--) {
    const r = log[i];
    const s = String(r.status);
    if (filter && !(filter === "0" ? r.status === 0 : s.startsWith(filter) && r.status !== 0)) continue;
    shown++;
    body.append(el("tr", {},
      el("td", {}, i + 1),
      el("td", {}, r.method),
      el("td", { class: "mono", title: r.path }, r.key === null || r.key === undefined ? r.path : r.key),
      el("td", { class: "status-" + s[0] }, s)));
  }
  $("requests-count").textContent = `${shown} shown of ${log.length}, newest first`;
}

const requestsPanel = {
  init() {
    $("requests-status").addEventListener("change", () => attempt(() => pollRequests(true)));
    $("requests-refresh").addEventListener("click", () => attempt(() => pollRequests(true)));
    $("requests-clear").addEventListener("click", () =>
      attempt(async () => {
        await control("DELETE", "/requests");
        await pollRequests(true);
      }));
    return pollRequests(true);
  },
  poll() {
    return $("requests-auto").checked ? pollRequests(false) : undefined;
  },
};

// ---------------------------------------------------------------- faults

function faultText(f) {
  const a = f.action;
  let what = a.kind;
  if (a.kind === "status") {
    what += ` ${a.status}` + a.headers.map(([k, v]) => ` ${k}: ${v}`).join("");
  } else if (a.kind === "delay") what += ` ${a.delay_ms} ms`;
  const m = f.matcher;
  const on = [m.method, m.path_contains && `path ~ ${m.path_contains}`, m.key != null && `key = ${m.key}`]
    .filter(Boolean).join(", ");
  return `${what}, ${f.times} more time(s)` + (on ? `, on ${on}` : ", on every request");
}

const faultsPanel = {
  init() {
    $("fault-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const kind = $("fault-kind").value;
      const spec = { kind, times: Number($("fault-times").value || "1") };
      if (kind === "status") {
        spec.status = Number($("fault-status").value);
        const ra = $("fault-retry-after").value;
        if (ra) spec.headers = { "Retry-After": ra };
      }
      if (kind === "delay") spec.delay_ms = Number($("fault-delay").value);
      for (const [field, id] of [["method", "fault-method"], ["path", "fault-path"], ["key", "fault-key"]]) {
        if ($(id).value) spec[field] = $(id).value;
      }
      attempt(async () => {
        await control("POST", "/faults", spec);
        await faultsPanel.poll();
      }, $("fault-error"));
    });
    $("faults-clear").addEventListener("click", () =>
      attempt(async () => {
        await control("DELETE", "/faults");
        await faultsPanel.poll();
      }));
    return faultsPanel.poll();
  },
  async poll() {
    const faults = await control("GET", "/faults");
    const list = $("fault-list");
    clear(list);
    if (!faults.length) list.append(el("li", { class: "muted" }, "none"));
    for (const f of faults) list.append(el("li", {}, faultText(f)));
  },
};

/** The snapshots kept by the mock: take one, restore one (the whole state back), forget one. */
const snapshotsPanel = {
  init() {
    $("snapshot-take").addEventListener("click", () =>
      attempt(async () => {
        await control("POST", "/snapshot");
        await snapshotsPanel.poll();
      }, $("snapshot-error")));
    return snapshotsPanel.poll();
  },
  async poll() {
    const snaps = await control("GET", "/snapshot");
    const list = $("snapshot-list");
    clear(list);
    if (!snaps.length) list.append(el("li", { class: "muted" }, "none"));
    for (const s of snaps) {
      const restore = () => attempt(async () => {
        await control("POST", "/restore", { id: s.id });
        await loadNamespaces();
        await refreshAfterChange();
      }, $("snapshot-error"));
      const forget = () => attempt(async () => {
        await control("DELETE", "/snapshot/" + encodeURIComponent(s.id));
        await snapshotsPanel.poll();
      }, $("snapshot-error"));
      list.append(el("li", { "data-id": s.id },
        `${s.id.slice(0, 8)}, taken ${isoOf(s.taken_at)} `,
        el("button", { type: "button", onclick: restore }, "Restore"),
        el("button", { type: "button", onclick: forget }, "Forget")));
    }
  },
};

// ---------------------------------------------------------------- locations

/** Shows the locations, their partitions and the writes on their way (hidden without any). */
function renderLocations(status) {
  $("locations").hidden = status.locations.length === 0;
  $("locations-seed").textContent = status.seed === null ? "" : `propagation seed ${status.seed}`;
  const list = $("locations-list");
  clear(list);
  const pending = [];
  for (const l of status.locations) {
    pending.push(...l.pending);
    const action = l.partitioned ? "heal" : "partition";
    list.append(el("li", {},
      el("strong", {}, l.name), " ", el("span", { class: "mono" }, l.base_url || ""),
      ` ${l.partitioned ? "partitioned" : "connected"}, ${l.pending.length} pending `,
      el("button", {
        type: "button",
        onclick: () => attempt(async () => {
          renderLocations(await control("POST", "/" + action, { location: l.name }));
        }, $("locations-error")),
      }, l.partitioned ? "Heal" : "Partition")));
  }
  const body = $("pending-table").tBodies[0];
  clear(body);
  pending.sort((a, b) => a.due_ms - b.due_ms);
  for (const p of pending.slice(0, MAX_LOG_ROWS)) {
    const due = (p.due_ms - state.clock.now_millis) / 1000;
    body.append(el("tr", {},
      el("td", { class: "mono" }, p.key),
      el("td", {}, p.kind),
      el("td", {}, `${p.from} → ${p.to}`),
      el("td", {}, p.held ? "held by a partition" : due > 0 ? `in ${due.toFixed(1)} s` : "now")));
  }
  $("locations-count").textContent = `${pending.length} write(s) on their way`;
}

const locationsPanel = {
  init() {
    $("locations-settle").addEventListener("click", () =>
      attempt(async () => renderLocations(await control("POST", "/settle", {})), $("locations-error")));
    $("locations-heal").addEventListener("click", () =>
      attempt(async () => renderLocations(await control("POST", "/heal", {})), $("locations-error")));
    return locationsPanel.poll();
  },
  async poll() {
    renderLocations(await control("GET", "/locations"));
  },
};

// ---------------------------------------------------------------- start

const panels = [clockPanel, namespacesPanel, keysPanel, viewerPanel, putPanel, requestsPanel, faultsPanel,
  snapshotsPanel, locationsPanel];

async function tick() {
  await attempt(async () => {
    for (const p of panels) await p.poll();
  }, null, true);
  setTimeout(tick, TICK_MS);
}

/** Where the API is and the clock: the first reads, which need the token when one is set. */
async function loadInfo() {
  const info = await control("GET", "/info");
  state.apiBase = new URL(info.base_url, location.href).pathname;
  state.account = info.account_id;
  state.clock = await control("GET", "/clock");
  renderClock();
}

async function start() {
  // The one token field serves the API and the control routes (both require it when set).
  const token = sessionStorage.getItem("kv-mock-token");
  if (token) $("api-token").value = token;
  $("api-token").addEventListener("change", (ev) => {
    sessionStorage.setItem("kv-mock-token", ev.target.value);
    attempt(async () => {
      if (!state.account) {
        await loadInfo();
        document.body.setAttribute("data-ready", "yes");
      }
      await loadNamespaces();
      await listKeys("");
    });
  });
  const ok = await attempt(loadInfo, null, true);
  for (const p of panels) await attempt(() => p.init(), null, true);
  document.body.setAttribute("data-ready", ok ? "yes" : "failed");
  setTimeout(tick, TICK_MS);
}

document.addEventListener("DOMContentLoaded", start);
