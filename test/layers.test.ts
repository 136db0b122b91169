// The layers only point down: a module may import from its own folder or from a folder of
// a lower layer, never from a peer or a layer above (docs/architecture.md draws them).
// Every relative import in src/, native/ and bench/ is checked, including dynamic import() and
// worker URLs.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Layer of each folder; a lower number is further down. Peers (same number) may not import each other. */
export const LAYERS: Record<string, number> = {
  'native': 0,
  'src/types': 0,
  'src/crypto': 1,
  'src/codec': 2,
  'src/pool': 2,
  'src/protocol': 3,
  'src/store': 3,
  'src/apps': 3,          // host.ts: the surface an application's state machine sees of the ledger
  'src/apps/clearing': 3.5, // applications sit below the ledger, which builds them (docs/architecture.md)
  'src/apps/toll': 3.5,
  'src/ledger': 4,
  'src/client': 4,
  'src/chain': 5,
  'src/consortium': 5,
  'src/pipeline': 6,
  'src/server': 7,
  'bench': 8,   // the load harness and micro-benchmarks (gmledger bench runs bench/load)
  'src': 9,     // cli.ts, index.ts: the entry points on top
};

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const p = join(dir, name);
    if (statSync(join(ROOT, p)).isDirectory()) out.push(...walk(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

function layerOf(file: string): string {
  const dir = dirname(file);
  if (!(dir in LAYERS)) throw new Error(`${file}: its folder ${dir} has no layer (add it to LAYERS and docs/architecture.md)`);
  return dir;
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|new URL\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

/** Every relative import of a file, as a repo-relative path. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(IMPORT)]
    .filter((m) => /\.(js|ts)$/.test(m[1])) // code, not data files (the .wasm)
    .map((m) => normalize(join(dirname(file), m[1])).replace(/\.js$/, '.ts'));
}

/** Every file `entry` loads, transitively, through relative imports. */
function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    stack.push(...importsOf(f));
  }
  return seen;
}

/** The imports that break the rule: to a peer folder or a layer above. */
export function upwardImports(files: string[]): string[] {
  const bad: string[] = [];
  for (const f of files) {
    const from = layerOf(f);
    for (const target of importsOf(f)) {
      const to = layerOf(target);
      if (to === from) continue;
      if (LAYERS[to] >= LAYERS[from]) bad.push(`${f} → ${relative('.', target)} (${from} ${LAYERS[from]} → ${to} ${LAYERS[to]})`);
    }
  }
  return bad;
}

describe('layers', () => {
  const files = [...walk('src'), ...walk('native'), ...walk('bench')];

  it('every folder has a layer, and every import points down', () => {
    expect(files.length).toBeGreaterThan(30);
    expect(upwardImports(files)).toEqual([]);
  });

  it('the check sees an import that points up, and one between peers', () => {
    // The rule applied to made-up edges: the same function that checked the tree above.
    expect(LAYERS['src/codec']).toBeLessThan(LAYERS['src/ledger']);
    const ledgerFile = files.find((f) => f.startsWith('src/ledger/'))!;
    const codecFile = files.find((f) => f.startsWith('src/codec/'))!;
    const clientFile = files.find((f) => f.startsWith('src/client/'))!;
    const fakeImports = (f: string, target: string): string[] => {
      const from = layerOf(f);
      const to = layerOf(target);
      return to !== from && LAYERS[to] >= LAYERS[from] ? [`${f} → ${target}`] : [];
    };
    expect(fakeImports(codecFile, ledgerFile)).toHaveLength(1);   // up
    expect(fakeImports(clientFile, ledgerFile)).toHaveLength(1);  // peer
    expect(fakeImports(ledgerFile, codecFile)).toHaveLength(0);   // down
  });

  it('gmledger/crypto loads only the crypto folder: no native addon, no worker pool', () => {
    const seen = closure('src/crypto/index.ts');
    expect([...new Set([...seen].map((f) => dirname(f)))]).toEqual(['src/crypto']);
    for (const f of seen) {
      const bare = [...readFileSync(join(ROOT, f), 'utf8').matchAll(/^\s*(?:import|export|\}).*\bfrom\s*['"]([^.'"][^'"]*)['"]/gm)].map((m) => m[1]);
      for (const b of bare) expect(b, f).toMatch(/^node:/);
    }
  });

  it('the SDK entry point needs only codec, crypto and protocol, and the applications\' SDK files', () => {
    const seen = closure('src/client/index.ts');
    const folders = new Set([...seen].map((f) => dirname(f)));
    expect([...folders].sort()).toEqual(expect.arrayContaining(['src/client']));
    const allowed = ['src/client', 'src/codec', 'src/crypto', 'src/protocol', 'src/types'];
    for (const d of folders) {
      if (!d.startsWith('src/apps')) expect(allowed).toContain(d);
    }
    // From an application, the SDK takes its SDK module and what that needs: never its state machine.
    for (const f of seen) if (f.startsWith('src/apps/')) expect(f, f).not.toMatch(/\/(state|query|persist)\.ts$/);
  });
});
