// Small helpers of the console: DOM building (text only: nothing the node sends is ever parsed
// as HTML), hex, the node's HTTP API, and the Prometheus text format.

/** document.querySelector. */
export const $ = (sel, root = document) => root.querySelector(sel);

/**
 * An element: attrs may hold `class`, `text`, `title`, `data` (dataset entries) and `on<event>`
 * handlers; children are nodes or strings (as text). Never innerHTML.
 */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = String(v);
    else if (k === 'data') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(typeof c === 'string' || typeof c === 'number' || typeof c === 'bigint' ? String(c) : c);
  }
  return e;
}

/** A table row of cells (strings or nodes). */
export function row(cells, attrs = {}) {
  return el('tr', attrs, ...cells.map((c) => el('td', typeof c === 'object' && c !== null && c.mono
    ? { class: 'mono' } : {}, typeof c === 'object' && c !== null && c.mono ? c.mono : c)));
}

export function hex(bytes) {
  return Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function unhex(s) {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new TypeError('not hex');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export const short = (h, n = 12) => (typeof h === 'string' && h.length > n ? h.slice(0, n) + '…' : String(h));

/** Signs requests once logged in: (pathAndQuery) → Authorization header value (docs/protocol.md §9). */
let authorize;
export function signRequests(fn) {
  authorize = fn;
}

/**
 * GET a path of this node's HTTP API, signed when logged in: { status, json } (json undefined
 * unless 200; `error`, the node's { error, message }, for other statuses but 404).
 */
export async function getJson(path) {
  const headers = authorize === undefined ? {} : { authorization: await authorize(path) };
  const r = await fetch(path, { cache: 'no-store', headers });
  if (r.status === 200) return { status: 200, json: await r.json() };
  const error = r.status === 404 ? undefined : await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  return { status: r.status, json: undefined, error };
}

/** Formats a number for a tile: integers with separators, small ones with 2 significant decimals. */
export function num(v, digits = 0) {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export const timeText = (ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/**
 * Prometheus text format 0.0.4 → Map(name → [{ labels, value }]). Enough for /metrics: one
 * sample per line, labels without escaped quotes.
 */
export function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (m === null) continue;
    const labels = {};
    for (const p of (m[3] ?? '').split(',')) {
      const kv = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"\s*$/.exec(p);
      if (kv !== null) labels[kv[1]] = kv[2];
    }
    if (!out.has(m[1])) out.set(m[1], []);
    out.get(m[1]).push({ labels, value: Number(m[4]) });
  }
  return out;
}

/** The unlabelled sample of a metric (or the sum of its samples), undefined when absent. */
export function metric(map, name) {
  const s = map.get(name);
  return s === undefined ? undefined : s.reduce((a, x) => a + x.value, 0);
}

/** Cumulative histogram buckets of a metric: [{ le, count }] sorted by le (+Inf last). */
export function buckets(map, name) {
  return (map.get(name + '_bucket') ?? [])
    .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), count: s.value }))
    .sort((a, b) => a.le - b.le);
}

/**
 * Quantile q of the observations made between two scrapes of a cumulative histogram
 * (linear inside the bucket, as Prometheus's histogram_quantile). Undefined when none.
 */
export function quantileBetween(prev, now, q) {
  if (now.length === 0) return undefined;
  const d = now.map((b, i) => ({ le: b.le, count: b.count - (prev[i]?.count ?? 0) }));
  const total = d[d.length - 1].count;
  if (!(total > 0)) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const b of d) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lower;
      const inBucket = b.count - below;
      return inBucket > 0 ? lower + ((b.le - lower) * (rank - below)) / inBucket : b.le;
    }
    lower = b.le;
    below = b.count;
  }
  return lower;
}
