/**
 * Runs Zeek's test traces through @rstwatch/packet + the Engine and lines our flow records up with
 * Zeek's baseline conn.log rows (matched by 5-tuple, as btest masks timestamps). Shared by the
 * agreement test and by `node`-side reporting.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '@rstwatch/classify';
import type { FlowRecord } from '@rstwatch/core';
import { parseCaptureFile } from '@rstwatch/packet';
import { ZEEK_TRACES, ZEEK_TRACES_MISSING } from '../support/zeek-traces.js';

/** The Zeek traces (test/support/zeek-traces.ts); undefined when this clone has none. */
export const TRACES_DIR: string | undefined = ZEEK_TRACES;

function tracesDir(): string {
  if (TRACES_DIR === undefined) throw new Error(ZEEK_TRACES_MISSING);
  return TRACES_DIR;
}

export interface ZeekRow {
  /** `orig_h:orig_p > resp_h:resp_p`; missing columns (zeek-cut extracts) read as `*`. */
  key: string | null;
  connState: string | null;
  history: string | null;
}

export interface Pair {
  trace: string;
  zeek: ZeekRow;
  ours: FlowRecord | null;
}

export interface TraceResult {
  trace: string;
  pairs: Pair[];
  /** Our TCP flows that Zeek has no row for. */
  extra: FlowRecord[];
}

export function flowKey(oh: string, op: number | string, rh: string, rp: number | string): string {
  return `${oh}:${op} > ${rh}:${rp}`;
}

/** TCP rows of a Zeek conn.log (any column subset; rows without id columns get key null). */
export function readConnLog(path: string): ZeekRow[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  let fields: string[] | null = null;
  const rows: ZeekRow[] = [];
  for (const line of lines) {
    if (line === '' || line.startsWith('###')) continue;
    if (line.startsWith('#fields')) {
      fields = line.split('\t').slice(1);
      continue;
    }
    if (line.startsWith('#')) continue;
    const cols = line.split('\t');
    if (fields === null) {
      // zeek-cut -m output: first data line is the header
      fields = cols;
      continue;
    }
    const get = (n: string) => {
      const k = fields!.indexOf(n);
      return k < 0 ? null : (cols[k] ?? null);
    };
    const proto = get('proto');
    if (proto !== null && proto !== 'tcp') continue;
    const oh = get('id.orig_h');
    const key =
      oh === null
        ? null
        : flowKey(oh, get('id.orig_p') ?? '*', get('id.resp_h') ?? '*', get('id.resp_p') ?? '*');
    const h = get('history');
    rows.push({ key, connState: get('conn_state'), history: h === '-' ? '' : h });
  }
  return rows;
}

/**
 * All TCP flow records rstwatch produces for a capture; `checksums` as Zeek ran: `ignore` where its
 * command line has `-C`, else `verify`.
 */
export async function ourFlows(
  path: string,
  checksums: 'verify' | 'ignore' = 'verify',
): Promise<FlowRecord[]> {
  // Zeek processes every copy of a packet (identical copies are its `T` retransmissions), so the
  // comparison turns rstwatch's SPAN duplicate suppression off (m57-long-49583-80 has such copies).
  const engine = Engine.create({ maxFlows: 65536, maxHosts: 4096, checksums, duplicateWindowMs: 0 });
  const flows: FlowRecord[] = [];
  await parseCaptureFile(path, {
    verifyChecksums: checksums === 'verify',
    onBatch: (b) => {
      flows.push(...engine.processBatch(b, 'zeek').flows);
    },
  });
  flows.push(...engine.finish().flows);
  return flows;
}

function keyMatches(pattern: string, oh: string, op: number, rh: string, rp: number): boolean {
  const m = /^(.*):([^:]+) > (.*):([^:]+)$/.exec(pattern);
  if (!m) return false;
  const eq = (want: string, got: string | number) => want === '*' || want === String(got);
  return eq(m[1]!, oh) && eq(m[2]!, op) && eq(m[3]!, rh) && eq(m[4]!, rp);
}

/** Whether our flow is the connection of a Zeek row (same tuple in either orientation). */
function sameConn(z: ZeekRow, f: FlowRecord): boolean {
  if (z.key === null) return true;
  return (
    keyMatches(z.key, f['id.orig_h'], f['id.orig_p'], f['id.resp_h'], f['id.resp_p']) ||
    keyMatches(z.key, f['id.resp_h'], f['id.resp_p'], f['id.orig_h'], f['id.orig_p'])
  );
}

/** Pair Zeek rows with our flows: same 5-tuple (either orientation), equal verdicts first. */
export function match(trace: string, rows: ZeekRow[], flows: FlowRecord[]): TraceResult {
  const left = [...flows];
  const pairs: Pair[] = [];
  const take = (pred: (f: FlowRecord) => boolean): FlowRecord | null => {
    const k = left.findIndex(pred);
    return k < 0 ? null : left.splice(k, 1)[0]!;
  };
  const pending: ZeekRow[] = [];
  // Pass 1: exact agreement within the tuple.
  for (const z of rows) {
    const sameKey = (f: FlowRecord) => sameConn(z, f);
    const f = take(
      (x) => sameKey(x) && x.conn_state === z.connState && (z.history === null || x.history === z.history),
    );
    if (f) pairs.push({ trace, zeek: z, ours: f });
    else pending.push(z);
  }
  // Pass 2: same tuple, state agrees.
  const pending2: ZeekRow[] = [];
  for (const z of pending) {
    const sameKey = (f: FlowRecord) => sameConn(z, f);
    const f = take((x) => sameKey(x) && (z.connState === null || x.conn_state === z.connState));
    if (f) pairs.push({ trace, zeek: z, ours: f });
    else pending2.push(z);
  }
  // Pass 3: anything on the tuple.
  for (const z of pending2) {
    const sameKey = (f: FlowRecord) => sameConn(z, f);
    pairs.push({ trace, zeek: z, ours: take(sameKey) });
  }
  return { trace, pairs, extra: left };
}

export interface TraceSpec {
  trace: string;
  capture: string;
  rows: ZeekRow[];
  /** `ignore` when Zeek's command line for the baseline has `-C` (MANIFEST.md), else `verify`. */
  checksums: 'verify' | 'ignore';
}

/**
 * Trace names whose Zeek command line in MANIFEST.md has `-C` (alone or in a flag group like `-Cr`): the
 * first backticked cell of a table row that starts with `zeek `.
 */
export function ignoresChecksums(dir = tracesDir()): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync(join(dir, 'MANIFEST.md'), 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 3 || cells[1] === '') continue;
    const cmd = cells.find((c) => c.startsWith('`zeek '));
    if (cmd !== undefined && /\s-[A-Za-z]*C/.test(cmd)) out.add(cells[1]!);
  }
  return out;
}

function checksumsOf(ignored: Set<string>, name: string): 'verify' | 'ignore' {
  return ignored.has(name) ? 'ignore' : 'verify';
}

/** Every trace with a conn_state baseline: the 30 conn.log pairs and the 4 rst-behavior traces. */
export function connStateTraces(dir = tracesDir()): TraceSpec[] {
  const out: TraceSpec[] = [];
  const files = readdirSync(dir);
  const ignored = ignoresChecksums(dir);
  for (const f of files.filter((x) => x.endsWith('.conn.log')).sort()) {
    const name = f.slice(0, -'.conn.log'.length);
    const cap = files.find((x) => x === `${name}.pcap` || x === `${name}.pcapng`);
    if (cap)
      out.push({
        trace: name,
        capture: join(dir, cap),
        rows: readConnLog(join(dir, f)),
        checksums: checksumsOf(ignored, name),
      });
  }
  for (const f of files.filter((x) => x.endsWith('.expected.txt')).sort()) {
    const name = f.slice(0, -'.expected.txt'.length);
    const line = readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .find((l) => l !== '' && !l.startsWith('#'))!;
    const [history, connState] = line.split(',').map((s) => s.trim());
    out.push({
      trace: name,
      capture: join(dir, `${name}.pcap`),
      rows: [{ key: null, connState: connState!, history: history! }],
      checksums: checksumsOf(ignored, name),
    });
  }
  return out;
}

/** history-only/ traces: baselines with history but no conn_state. */
export function historyOnlyTraces(dir = join(tracesDir(), 'history-only')): TraceSpec[] {
  const files = readdirSync(dir);
  const ignored = ignoresChecksums(join(dir, '..'));
  return files
    .filter((x) => x.endsWith('.conn.log'))
    .sort()
    .flatMap((f) => {
      const name = f.slice(0, -'.conn.log'.length);
      const cap = files.find((x) => x === `${name}.pcap` || x === `${name}.pcapng`);
      return cap
        ? [
            {
              trace: `history-only/${name}`,
              capture: join(dir, cap),
              rows: readConnLog(join(dir, f)),
              checksums: checksumsOf(ignored, name),
            },
          ]
        : [];
    });
}

/** Stable identity of a conn_state disagreement, as listed in disagreements.md. */
export function disagreementId(p: Pair): string {
  return `${p.trace} | ${p.zeek.key ?? '(single row)'} | zeek ${p.zeek.connState} | rstwatch ${p.ours?.conn_state ?? 'missing'}`;
}
