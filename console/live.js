// Live view: scrapes GET /metrics every second (rates and latency quantiles come from the
// difference between two scrapes), GET /status every two seconds (height, finality, the
// consortium's co-signing), and listens to the `blocks` topic on the WebSocket. Charts are
// uPlot, over the last LIVE_POINTS seconds.

import { $, buckets, el, getJson, metric, num, parseMetrics, quantileBetween, row, short, timeText } from './util.js';
import { linkState } from './app.js';

const LIVE_POINTS = 300;
const RECENT_BLOCKS = 12;
const BLOCK_RATE_WINDOW_MS = 10_000;

const series = { t: [], tps: [], p50: [], p99: [], queued: [], inFlight: [], refused: [], frameErrors: [] };
const charts = {};
let prev;
const blockTimes = [];
const recentBlocks = [];
let shared;

function chart(id, labels, colors) {
  const target = $(id);
  if (window.uPlot === undefined) {
    target.textContent = 'uPlot did not load: no chart (the numbers above still update).';
    return undefined;
  }
  const opts = {
    width: Math.max(target.clientWidth, 420), height: 200, legend: { live: false },
    scales: { x: { time: true } },
    series: [{}, ...labels.map((label, i) => ({ label, stroke: colors[i], width: 1.5 }))],
  };
  return new window.uPlot(opts, [[], ...labels.map(() => [])], target);
}

function push(sample) {
  for (const [k, v] of Object.entries(sample)) {
    series[k].push(v);
    if (series[k].length > LIVE_POINTS) series[k].shift();
  }
}

function redraw() {
  const s = series;
  charts.tps?.setData([s.t, s.tps]);
  charts.latency?.setData([s.t, s.p50, s.p99]);
  charts.queue?.setData([s.t, s.queued, s.inFlight]);
  charts.rejects?.setData([s.t, s.refused, s.frameErrors]);
  $('#chart-tps').dataset.points = String(s.t.length);
}

/** One scrape of /metrics: a point on every chart and the tiles. */
async function scrape() {
  const r = await fetch('/metrics', { cache: 'no-store' });
  if (r.status !== 200) throw new Error(`/metrics: HTTP ${r.status}`);
  const m = parseMetrics(await r.text());
  const now = {
    t: Date.now() / 1000, committed: metric(m, 'gmledger_records_committed_total') ?? 0,
    rejected: metric(m, 'gmledger_records_rejected_total') ?? 0,
    frameErrors: metric(m, 'gmledger_frame_errors_total') ?? 0,
    latency: buckets(m, 'gmledger_submit_latency_seconds'),
  };
  const queued = metric(m, 'gmledger_queue_records') ?? 0;
  const inFlight = metric(m, 'gmledger_in_flight_records') ?? 0;
  $('#m-queue').textContent = `${num(queued)} / ${num(inFlight)}`;
  rejectTable(m.get('gmledger_records_refused_total') ?? [], m.get('gmledger_frame_errors_total') ?? []);
  if (prev !== undefined && now.t > prev.t) {
    const dt = now.t - prev.t;
    const ms = (q) => {
      const v = quantileBetween(prev.latency, now.latency, q);
      return v === undefined ? null : v * 1e3;
    };
    const sample = {
      t: now.t, tps: (now.committed - prev.committed) / dt, p50: ms(0.5), p99: ms(0.99), queued, inFlight,
      refused: (now.rejected - prev.rejected) / dt, frameErrors: (now.frameErrors - prev.frameErrors) / dt,
    };
    push(sample);
    $('#m-tps').textContent = num(sample.tps);
    $('#m-tps').title = `mean of the last 9 s: ${num(metric(m, 'gmledger_tps'))}`;
    $('#m-p50').textContent = sample.p50 === null ? 'idle' : `${num(sample.p50, 1)} ms`;
    $('#m-p99').textContent = sample.p99 === null ? 'idle' : `${num(sample.p99, 1)} ms`;
    $('#m-rejects').textContent = num(sample.refused);
    redraw();
  }
  prev = now;
}

/** Admission refusals by reason: records (result codes 1..31) and whole frames (error names). */
function rejectTable(records, frames) {
  const rows = [
    ...records.filter((s) => s.value > 0).map((s) => row(['record', s.labels.result ?? '?', num(s.value)])),
    ...frames.filter((s) => s.value > 0).map((s) => row(['frame', s.labels.error ?? '?', num(s.value)])),
  ];
  $('#rejects tbody').replaceChildren(...(rows.length > 0 ? rows : [row(['', 'none', '0'])]));
}

/** /status: height, final height, and in a consortium each node's last co-signed height. */
async function status() {
  const { json: s } = await getJson('/status');
  if (s === undefined) return;
  $('#m-height').textContent = `${num(s.height)} (${num(s.finalHeight ?? s.height)})`;
  const c = s.consortium;
  if (c === undefined) return;
  const signed = c.lastSigned ?? {};
  const members = c.members ?? Object.keys(signed);
  const rows = members.map((id) => row([{ mono: short(id, 16) }, id === c.node ? 'this node' : '',
    num(signed[id]), signed[id] !== undefined && signed[id] >= c.finalHeight ? 'yes' : 'no']));
  $('#consortium').replaceChildren(
    el('p', { text: `final ${num(c.finalHeight)} of ${num(c.height)}; quorum ${c.quorum} of ${members.length}` +
      (c.halted ? `; HALTED: ${c.halted}` : '') }),
    el('table', {}, el('thead', {}, el('tr', {}, ...['node key', '', 'last co-signed', 'signed the final block']
      .map((h) => el('th', { text: h })))), el('tbody', {}, ...rows)));
}

/** A block event: only noted here; drawBlocks() shows the latest once a second (blocks come faster). */
function onBlock(e) {
  blockTimes.push(Date.now());
  recentBlocks.push(e);
  if (recentBlocks.length > 2 * RECENT_BLOCKS) recentBlocks.splice(0, recentBlocks.length - RECENT_BLOCKS);
}

function drawBlocks() {
  const now = Date.now();
  while (blockTimes.length > 0 && blockTimes[0] < now - BLOCK_RATE_WINDOW_MS) blockTimes.shift();
  $('#m-blockrate').textContent = num(blockTimes.length / (BLOCK_RATE_WINDOW_MS / 1000), 1);
  const e = recentBlocks[recentBlocks.length - 1];
  if (e === undefined || String(e.height) === $('#m-lastblock').dataset.height) return;
  $('#m-lastblock').textContent = `#${e.height}: ${num(e.count)}, ${timeText(e.timeMs).slice(11)}`;
  $('#m-lastblock').dataset.height = String(e.height);
  $('#blocks tbody').replaceChildren(...recentBlocks.slice(-RECENT_BLOCKS).reverse().map((b) => {
    const link = el('a', { text: String(b.height), onclick: () => shared.explore('block', String(b.height)) });
    const hash = Array.from(b.hash, (x) => x.toString(16).padStart(2, '0')).join('');
    return row([link, num(b.count), timeText(b.timeMs), { mono: short(hash, 16) }]);
  }));
}

export function initLive(ctx) {
  shared = ctx;
  charts.tps = chart('#chart-tps', ['records/s'], ['#1f5fbf']);
  charts.latency = chart('#chart-latency', ['p50 ms', 'p99 ms'], ['#0a7d32', '#b3261e']);
  charts.queue = chart('#chart-queue', ['queued', 'in flight'], ['#7a4fbf', '#c77c02']);
  charts.rejects = chart('#chart-rejects', ['refused records/s', 'refused frames/s'], ['#b3261e', '#6b7280']);
  ctx.blockHandlers.push(onBlock);
  let n = 0;
  const tick = () => {
    drawBlocks();
    const polls = n++ % 2 === 0 ? [scrape(), status()] : [scrape()];
    Promise.all(polls).then(() => linkState('http', true), () => linkState('http', false));
  };
  tick();
  setInterval(tick, 1000);
}
