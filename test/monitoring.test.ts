// The Prometheus alert rules and the Grafana dashboard in docs/monitoring/ name metrics by
// string, and nothing else ties those strings to the code: a renamed or dropped metric would
// leave an alert that never fires and a panel that stays empty, silently. So every
// gmledger_* name they use must appear in the /metrics text of a real running node — a plain
// node for most, a consortium node (on a one-server NATS) for gmledger_final_height and
// gmledger_consortium_*, which only a consortium node exports. Also checked: the shape
// Prometheus and Grafana need (every rule has expr, for, a severity and what-to-do
// annotations; every panel has a title and a query; the datasource is an import input).
// Semantics of the expressions (thresholds, PromQL syntax) are for `promtool check rules` /
// `promtool test rules`, which CI does not have; see docs/operations.md.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { initChain, initConsortium } from '../dist/src/chain/init.js';
import { startNatsCluster, type NatsCluster } from '../dist/src/consortium/nats-cluster.js';
import { runNode, type RunningNode } from '../dist/src/server/cli-start.js';
import { skipWithoutNats, requireNats } from './helpers/nats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RULES_FILE = 'docs/monitoring/gmledger-alerts.yml';
const DASHBOARD_FILE = 'docs/monitoring/gmledger-dashboard.json';
const LONG = 120_000;
/** Exported only by a consortium node (docs/consortium.md, "Status and metrics"). */
const CONSORTIUM_ONLY = /^gmledger_(final_height$|consortium_)/;
const SEVERITIES = ['page', 'ticket'];
/** A Prometheus duration as rules use it: 0m, 5m, 1h30m. */
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

interface Rule {
  alert?: string;
  record?: string;
  expr?: unknown;
  for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}
interface Target { expr?: unknown; refId?: unknown; datasource?: { uid?: unknown } }
interface Panel { title?: unknown; type?: unknown; targets?: Target[]; datasource?: { uid?: unknown } }
interface Dashboard {
  __inputs?: { name?: unknown; type?: unknown; pluginId?: unknown }[];
  panels?: Panel[];
  templating?: { list?: { query?: unknown; definition?: unknown }[] };
}

function read(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}

function loadRules(): Rule[] {
  const doc = parse(read(RULES_FILE)) as { groups?: { name?: unknown; rules?: Rule[] }[] };
  expect(Array.isArray(doc.groups) && doc.groups.length > 0, 'a `groups:` list').toBe(true);
  return doc.groups!.flatMap((g) => {
    expect(typeof g.name, 'every group has a name').toBe('string');
    expect(g.rules?.length, `group ${String(g.name)} has rules`).toBeGreaterThan(0);
    return g.rules!;
  });
}

function loadDashboard(): Dashboard {
  return JSON.parse(read(DASHBOARD_FILE)) as Dashboard;
}

function metricNames(texts: unknown[]): Set<string> {
  const out = new Set<string>();
  for (const t of texts) {
    if (typeof t !== 'string') continue;
    for (const m of t.matchAll(/\bgmledger_[a-z0-9_]+/g)) out.add(m[0]);
  }
  return out;
}

/** Every gmledger_* name the rules (expressions and annotations) and the dashboard's queries use. */
function referencedNames(): string[] {
  const texts: unknown[] = [];
  for (const r of loadRules()) texts.push(r.expr, ...Object.values(r.annotations ?? {}));
  const d = loadDashboard();
  for (const p of d.panels ?? []) for (const t of p.targets ?? []) texts.push(t.expr);
  for (const v of d.templating?.list ?? []) texts.push(typeof v.query === 'object' ? JSON.stringify(v.query) : v.query);
  return [...metricNames(texts)].sort();
}

/**
 * The series names a /metrics text can produce: each family it declares (a `# TYPE` line,
 * present even before a labelled family has its first sample, like
 * gmledger_consortium_signed_height) plus, for a histogram, its _bucket, _sum and _count.
 */
function exposedNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      out.add(type[1]);
      if (type[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(type[1] + s);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample) out.add(sample[1]);
  }
  return out;
}

async function metricsOf(node: RunningNode): Promise<string> {
  const res = await fetch(`${node.server.httpUrl}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

describe('monitoring: alert rules and dashboard', () => {
  it('every alert rule has expr, for, a page/ticket severity, a summary and a description', () => {
    const rules = loadRules();
    const names = new Set<string>();
    for (const r of rules) {
      const name = r.alert ?? r.record ?? '?';
      expect(typeof r.alert, `${name}: an alerting rule (no recording rules here)`).toBe('string');
      expect(names.has(name), `${name}: unique`).toBe(false);
      names.add(name);
      expect(typeof r.expr === 'string' && r.expr.trim() !== '', `${name}: expr`).toBe(true);
      expect(typeof r.for === 'string' && DURATION.test(r.for), `${name}: for (a duration), got ${String(r.for)}`)
        .toBe(true);
      expect(SEVERITIES, `${name}: labels.severity`).toContain(r.labels?.severity);
      for (const a of ['summary', 'description']) {
        const v = r.annotations?.[a];
        expect(typeof v === 'string' && v.trim().length > 0, `${name}: annotations.${a}`).toBe(true);
      }
    }
    // The alerts the runbook (docs/operations.md) promises, by what they watch.
    const exprs = rules.map((r) => String(r.expr)).join('\n');
    for (const m of [
      'up{job="gmledger"}', 'gmledger_chain_height', 'gmledger_submit_latency_seconds_bucket',
      'gmledger_event_loop_delay_p99_seconds', 'gmledger_queue_records / gmledger_queue_records_max',
      'gmledger_http_busy_total', 'gmledger_frame_errors_total', 'gmledger_slow_subscribers_cut_total',
      'gmledger_process_resident_bytes', 'gmledger_consortium_halted == 1', 'gmledger_consortium_alarms_total',
      'gmledger_chain_height - gmledger_final_height', 'gmledger_final_latency_seconds_bucket',
      'gmledger_consortium_signed_height',
    ]) expect(exprs, `an alert on ${m}`).toContain(m);
  });

  it('the dashboard parses, takes its datasource as an input, and every panel has a title and a query', () => {
    const d = loadDashboard();
    expect(d.__inputs).toContainEqual(expect.objectContaining({
      name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus',
    }));
    expect(d.panels?.length).toBeGreaterThan(0);
    for (const p of d.panels!) {
      const title = String(p.title);
      expect(typeof p.title === 'string' && p.title.trim() !== '', 'every panel has a title').toBe(true);
      expect(p.targets?.length, `${title}: at least one target`).toBeGreaterThan(0);
      // Not a datasource of the exporter's own Grafana: the importer picks theirs.
      expect(p.datasource?.uid, `${title}: datasource`).toBe('${DS_PROMETHEUS}');
      const refIds = new Set<unknown>();
      for (const t of p.targets!) {
        expect(typeof t.expr === 'string' && t.expr.trim() !== '', `${title}: a query`).toBe(true);
        expect(t.datasource?.uid, `${title}: target datasource`).toBe('${DS_PROMETHEUS}');
        expect(refIds.has(t.refId), `${title}: refId ${String(t.refId)} unique`).toBe(false);
        refIds.add(t.refId);
      }
    }
  });

  describe('names only metrics a plain node exports (consortium ones aside)', () => {
    let dir: string;
    let node: RunningNode | undefined;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gmledger-monitoring-'));
      await initChain({ dir });
      // verifyThreads 0: the verify metrics exist either way, and a pool is only start-up time here.
      node = await runNode({ dir, host: '127.0.0.1', port: 0, gateways: [], limits: {}, verifyThreads: 0 },
        () => undefined);
    });
    afterAll(async () => {
      await node?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('every gmledger_* name in the rules and dashboard is in /metrics', async () => {
      const exposed = exposedNames(await metricsOf(node!));
      const referenced = referencedNames();
      expect(referenced.length).toBeGreaterThan(20);
      const missing = referenced.filter((n) => !exposed.has(n) && !CONSORTIUM_ONLY.test(n));
      expect(missing, 'named in docs/monitoring but not exported by a node').toEqual([]);
      // On every node, not only a consortium's: the final-latency histogram.
      expect(exposed.has('gmledger_final_latency_seconds_bucket')).toBe(true);
    });
  });

  describe.skipIf(skipWithoutNats('test/monitoring.test.ts', 'the consortium metrics check'))('names only metrics a consortium node exports', () => {
    let root: string;
    let cluster: NatsCluster | undefined;
    let node: RunningNode | undefined;
    beforeAll(async () => {
      requireNats('the consortium metrics check');
      root = mkdtempSync(join(tmpdir(), 'gmledger-monitoring-c-'));
      // One node, quorum 1: enough for ConsortiumNode.metrics() to be part of /metrics.
      const { dirs } = await initConsortium({ dir: join(root, 'chain'), nodes: 1, quorum: 1 });
      cluster = await startNatsCluster({ servers: 1, dir: join(root, 'nats') });
      node = await runNode({
        dir: dirs[0], host: '127.0.0.1', port: 0, gateways: [], limits: {}, verifyThreads: 0, nats: cluster.urls,
      }, () => undefined);
    }, LONG);
    afterAll(async () => {
      await node?.stop();
      await cluster?.stop();
      if (root) rmSync(root, { recursive: true, force: true });
    }, LONG);

    it('every gmledger_* name in the rules and dashboard is in /metrics', async () => {
      const exposed = exposedNames(await metricsOf(node!));
      const referenced = referencedNames();
      expect(referenced.filter((n) => CONSORTIUM_ONLY.test(n)).length, 'consortium metrics used').toBeGreaterThan(3);
      expect(referenced.filter((n) => !exposed.has(n)), 'named in docs/monitoring but not exported').toEqual([]);
    }, LONG);
  });
});
