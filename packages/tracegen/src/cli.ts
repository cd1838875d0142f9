#!/usr/bin/env node
/** `node packages/tracegen/dist/cli.js --packets N --seed S --out FILE`: writes a trace, prints its summary. */
import { parseArgs } from 'node:util';
import { generateTrace, isMixName, MIX_NAMES, type TraceOptions } from './index.js';

const USAGE = `usage: tracegen --packets N --out FILE [--seed S] [--flows N] [--mix short|medium|default|long]
                [--ramp-us N] [--ipv6-share X] [--vlan-share X] [--snaplen N] [--start-ts-us N]
                [--labels LABELS.ndjson]
Writes a deterministic pcap with a realistic TCP mix and prints a JSON summary on stdout.
--labels writes the ground truth: one {"frame":N,"cause":"..."} line per RST packet.`;

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`--${name}: expected a number, got "${v}"`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      packets: { type: 'string', short: 'n' },
      seed: { type: 'string', short: 's' },
      out: { type: 'string', short: 'o' },
      flows: { type: 'string' },
      mix: { type: 'string' },
      'ramp-us': { type: 'string' },
      'ipv6-share': { type: 'string' },
      'vlan-share': { type: 'string' },
      snaplen: { type: 'string' },
      'start-ts-us': { type: 'string' },
      labels: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.out === undefined || values.packets === undefined) {
    console.error(USAGE);
    return 2;
  }
  const opts: TraceOptions = { out: values.out, packets: num('packets', values.packets)! };
  if (values.labels !== undefined) opts.labelsOut = values.labels;
  if (values.mix !== undefined) {
    if (!isMixName(values.mix))
      throw new Error(`--mix: expected one of ${MIX_NAMES.join(', ')}, got "${values.mix}"`);
    opts.mix = values.mix;
  }
  const optional: [keyof TraceOptions, number | undefined][] = [
    ['seed', num('seed', values.seed)],
    ['concurrentFlows', num('flows', values.flows)],
    ['rampUs', num('ramp-us', values['ramp-us'])],
    ['ipv6Share', num('ipv6-share', values['ipv6-share'])],
    ['vlanShare', num('vlan-share', values['vlan-share'])],
    ['snaplen', num('snaplen', values.snaplen)],
    ['startTsUs', num('start-ts-us', values['start-ts-us'])],
  ];
  for (const [k, v] of optional) if (v !== undefined) (opts as unknown as Record<string, number>)[k] = v;
  const t0 = performance.now();
  const summary = await generateTrace(opts);
  const s = (performance.now() - t0) / 1000;
  console.error(
    `tracegen: ${summary.packets} packets in ${s.toFixed(2)} s (${Math.round(summary.packets / s)} packets/s)`,
  );
  console.log(JSON.stringify(summary));
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`tracegen: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  },
);
