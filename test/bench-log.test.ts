// The load harness's `--docs` log: rows land between the markers, newest first, bounded.
import { describe, expect, it } from 'vitest';
import { DOCS_BEGIN, DOCS_END, DOCS_ROWS_MAX, logRunInDocs } from '../dist/bench/load.js';

const row = (tps: number) => '| mode | … |\n| --- | --- |\n' + `| SM2-signed | 10000 | 4 × 8 × 256 | 10/10 | ${tps} | 1.0 | 2.0 | 3.0 | 4.0 | 0.50 / 0.70 | 500 |`;
const when = new Date('2026-11-22T19:30:00Z');

describe('load harness docs log', () => {
  it('creates the log when missing, then inserts newest first and keeps the rest of the file', () => {
    const doc = '# Benchmarks\n\nsome text\n';
    const once = logRunInDocs(doc, row(111), 'gmledger bench --rate 10000', when);
    expect(once.startsWith('# Benchmarks\n\nsome text\n')).toBe(true);
    expect(once).toContain(DOCS_BEGIN);
    expect(once).toContain('| 2026-11-22 19:30 | `gmledger bench --rate 10000` | SM2-signed | 10000 |');
    const twice = logRunInDocs(once + '\n## After\n', row(222), 'gmledger bench --rate 0', new Date('2026-11-23T01:02:00Z'));
    const lines = twice.split('\n').filter((l) => l.startsWith('| 2026'));
    expect(lines.length).toBe(2);
    expect(lines[0]).toContain('| 222 |');
    expect(lines[1]).toContain('| 111 |');
    expect(twice.endsWith('\n## After\n')).toBe(true);
    expect(twice.split(DOCS_BEGIN).length).toBe(2);
  });

  it('keeps at most DOCS_ROWS_MAX rows, strips backticks and pipes from the command, and refuses a broken log', () => {
    let doc = '';
    for (let i = 0; i < DOCS_ROWS_MAX + 5; i++) doc = logRunInDocs(doc, row(i), 'gmledger bench `x` | y', when);
    const rows = doc.split('\n').filter((l) => l.startsWith('| 2026'));
    expect(rows.length).toBe(DOCS_ROWS_MAX);
    expect(rows[0]).toContain(`| ${DOCS_ROWS_MAX + 4} |`);
    expect(rows[0]).toContain('`gmledger bench x  y`');
    expect(() => logRunInDocs(`${DOCS_BEGIN}\nno end`, row(1), 'c', when)).toThrow(/end marker/);
    expect(() => logRunInDocs(`${DOCS_BEGIN}\n${DOCS_END}\n`, row(1), 'c', when)).toThrow(/header/);
    expect(() => logRunInDocs('', 'not a row', 'c', when)).toThrow(/row/);
  });
});
