// The built CLI as users run it: `node services/cli/dist/main.js ...` (build first: `pnpm build`, which
// bundles it into services/cli/dist/bundle/).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(root, 'services/cli/dist/main.js');
const tmp = mkdtempSync(join(tmpdir(), 'rstwatch-cli-'));

function cli(args: string[], env: Record<string, string> = {}, input?: Uint8Array) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '', HOME: tmp, ...env },
    cwd: tmp,
    ...(input !== undefined ? { input } : {}),
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function yaml(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

describe('rstwatch CLI', () => {
  it('--help lists every subcommand and the exit codes', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of [
      'agent',
      'analyze',
      'run',
      'processor',
      'detect',
      'migrate',
      'query',
      'generate',
      'config',
    ])
      expect(r.out).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    expect(r.out).toContain('Exit codes:');
    expect(r.out).toContain('3  input unreadable');
  });

  it.each([
    ['agent', '--iface'],
    ['analyze', '--format'],
    ['run', '--pcap'],
    ['processor', '--brokers'],
    ['detect', '--webhook'],
    ['migrate', '--dry-run'],
    ['query', '--param'],
    ['generate', '--packets'],
    ['config', 'check'],
  ])('%s --help', (cmd, flag) => {
    const r = cli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(flag);
  });

  it('--version prints the version', () => {
    const r = cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('runs the bundle: analyze imports no module of ours from outside services/cli/dist/', () => {
    // An ESM load hook (module.register: Node 20, 22 and 24) lists every module the main thread imports.
    const hook = join(tmp, 'loads.mjs');
    const load =
      "export async function load(url, ctx, next) { if (url.includes('/dist/')) process._rawDebug('load ' + url); return next(url, ctx); }";
    writeFileSync(
      hook,
      `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(load)}));\n`,
    );
    const r = cli(['analyze', join(root, 'test/fixtures/sample.pcap'), '--format', 'ndjson'], {
      NODE_OPTIONS: `--import=${pathToFileURL(hook).href}`,
    });
    expect(r.code).toBe(0);
    expect(r.out.split('\n').filter(Boolean).length).toBeGreaterThan(50);
    const loads = r.err
      .split('\n')
      .filter((l) => l.startsWith('load file://') && !l.includes('/node_modules/'))
      .map((l) => l.slice(5));
    expect(loads).toContain(pathToFileURL(join(root, 'services/cli/dist/bundle/rstwatch.js')).href);
    expect(loads.filter((u) => !u.includes('/services/cli/dist/'))).toEqual([]);
    // The engine worker's path is taken relative to the bundled threads module: the bundled worker.
    expect(loads.some((u) => /\/services\/cli\/dist\/bundle\/threads-\w+\.js$/.test(u))).toBe(true);
    expect(existsSync(join(root, 'services/cli/dist/bundle/worker.js'))).toBe(true);
  });

  it('without its bundle, dist/main.js says to build and exits 1', () => {
    const lone = mkdtempSync(join(tmpdir(), 'rstwatch-nobundle-'));
    copyFileSync(bin, join(lone, 'main.js'));
    const r = spawnSync(process.execPath, [join(lone, 'main.js'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bundle\/rstwatch\.js is missing: run `pnpm build` first/);
  });

  it('unknown subcommand: message, help hint, exit 2', () => {
    const r = cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown command 'frobnicate'");
    expect(r.err).toContain('--help');
  });

  it('no subcommand: help on stderr, exit 2', () => {
    const r = cli([]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('Usage: rstwatch');
  });

  it('unknown flag: exit 2', () => {
    const r = cli(['agent', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown option '--no-such-flag'");
  });

  it('bad flag value: exit 2 with the allowed values', () => {
    const r = cli(['agent', '--pcap', 'x.pcap', '--replay-speed', 'fast']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("'max' or a factor like '1x'");
  });

  it('--iface and --pcap together: exit 2', () => {
    const r = cli(['agent', '--iface', 'eth0', '--pcap', 'x.pcap']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot be used with/);
  });

  it('config error names the key and the allowed values, no stack trace, exit 2', () => {
    const f = yaml('bad.yaml', 'agent:\n  snaplen: 10\n  compression: brotli\n');
    const r = cli(['config', 'check', '--config', f]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('agent.snaplen');
    expect(r.err).toContain('agent.compression');
    expect(r.err).toMatch(/gzip/);
    expect(r.err).not.toMatch(/^\s+at /m);
  });

  it('unknown config key: exit 2 naming it', () => {
    const f = yaml('unknown.yaml', 'agent:\n  snaplenn: 256\n');
    const r = cli(['config', 'check', '--config', f]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('agent.snaplenn');
  });

  it('environment error names the key, exit 2', () => {
    const r = cli(['config', 'check'], { RSTWATCH_AGENT__SNAPLEN: 'lots' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/agent\.snaplen/);
  });

  it('missing config file: exit 3', () => {
    const r = cli(['config', 'check', '--config', join(tmp, 'nope.yaml')]);
    expect(r.code).toBe(3);
    expect(r.err).toContain('no such file');
  });

  it('config check / dump: valid config, flags over env over file', () => {
    const f = yaml('ok.yaml', 'sensor:\n  id: from-file\nkafka:\n  brokers: ["h1:9092"]\n');
    expect(cli(['config', 'check', '--config', f]).code).toBe(0);
    const dump = cli(['config', 'dump', '--config', f], { RSTWATCH_KAFKA__BROKERS: 'h2:9092,h3:9092' });
    expect(dump.code).toBe(0);
    expect(dump.out).toContain('from-file');
    expect(dump.out).toContain('h2:9092');
    expect(dump.out).not.toContain('h1:9092');
  });

  it('analyze of a missing file: exit 3', () => {
    const r = cli(['analyze', join(tmp, 'missing.pcap')]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/missing\.pcap/);
  });

  it('analyze with a broken config or a missing file: the right exit code, at once', () => {
    // analyze starts its worker thread before it reads the configuration (the CLI even before it parses
    // the command line): these errors come while the thread boots, and must still give their own exit
    // code and message, without waiting on the thread.
    const sample = fileURLToPath(new URL('../../../test/fixtures/sample.pcap', import.meta.url));
    const broken = yaml('broken-analyze.yaml', 'classifier:\n  idleTimeoutS: soon\n');
    for (const [args, code, msg] of [
      [['analyze', sample, '--config', broken], 2, /classifier\.idleTimeoutS/],
      [['analyze', join(tmp, 'missing.pcap'), '--shards', '2'], 3, /missing\.pcap/],
      // Usage errors, found before the analyze command runs, while the thread the CLI prestarted boots.
      [['analyze', sample, '--format', 'bogus'], 2, /--format/],
      [['analyze'], 2, /missing required argument 'file'/],
    ] as const) {
      const t0 = Date.now();
      const r = cli([...args]);
      expect(r.code, r.err).toBe(code);
      expect(r.err).toMatch(msg);
      expect(Date.now() - t0).toBeLessThan(20_000);
    }
  });

  it('analyze --idle-timeout takes durations: 2s and 2000ms mean 2 (seconds), 5s moves the verdict', () => {
    const pcap = join(root, 'test/fixtures/scenarios/idle_timeout_v4.pcap');
    const causes = (t: string) =>
      cli(['analyze', pcap, '--format', 'ndjson', '--idle-timeout', t])
        .out.trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { cause: string }).cause);
    expect(causes('2')).toEqual(['idle_timeout']);
    expect(causes('2s')).toEqual(['idle_timeout']);
    expect(causes('2000ms')).toEqual(['idle_timeout']);
    expect(causes('5s')).not.toEqual(['idle_timeout']);
    const bad = cli(['analyze', pcap, '--idle-timeout', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/classifier\.idleTimeoutS.*duration/);
  });

  it('analyze: ndjson events carry --sensor-id; --shards must be >= 1', () => {
    const sample = fileURLToPath(new URL('../../../test/fixtures/sample.pcap', import.meta.url));
    const r = cli(['analyze', sample, '--format', 'ndjson', '--sensor-id', 'tap-42', '--shards', '2']);
    expect(r.code).toBe(0);
    const events = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { sensor: string; cause: string });
    expect(events).toHaveLength(74);
    expect(new Set(events.map((e) => e.sensor))).toEqual(new Set(['tap-42']));
    const bad = cli(['analyze', sample, '--shards', '0']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--shards must be an integer >= 1/);
  });

  it('analyze -: a capture on standard input gives the same events as the file; bad input exits 3', () => {
    const sample = fileURLToPath(new URL('../../../test/fixtures/sample.pcap', import.meta.url));
    const bytes = readFileSync(sample);
    const fromFile = cli(['analyze', sample, '--format', 'ndjson', '--sensor-id', 's']);
    const fromStdin = cli(['analyze', '-', '--format', 'ndjson', '--sensor-id', 's'], {}, bytes);
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.out.trim().split('\n')).toHaveLength(74);
    expect(fromStdin.out).toBe(fromFile.out);
    const table = cli(['analyze', '-', '--no-progress'], {}, bytes);
    expect(table.out).toMatch(/^standard input: 653 TCP headers, 78 flows, 74 RSTs/);
    const garbage = cli(['analyze', '-'], {}, new TextEncoder().encode('not a capture\n'));
    expect(garbage.code).toBe(3);
    expect(garbage.err).toContain('standard input is not a pcap or pcapng capture');
    const empty = cli(['analyze', '-'], {}, new Uint8Array(0));
    expect(empty.code).toBe(3);
    expect(empty.err).toContain('standard input is empty');
  });

  it('analyze: the table counts the same flows that --flows writes (records are built only for --flows)', () => {
    const sample = fileURLToPath(new URL('../../../test/fixtures/sample.pcap', import.meta.url));
    const flowsFile = join(tmp, 'flows.ndjson');
    const withRecords = cli(['analyze', sample, '--flows', flowsFile, '--no-progress']);
    const without = cli(['analyze', sample, '--no-progress']);
    expect(withRecords.code).toBe(0);
    expect(without.code).toBe(0);
    const written = readFileSync(flowsFile, 'utf8').trim().split('\n').length;
    expect(written).toBeGreaterThan(50);
    const counted = (out: string) => Number(/TCP headers, ([\d,]+) flows/.exec(out)?.[1]?.replace(/,/g, ''));
    expect(counted(withRecords.out)).toBe(written);
    expect(counted(without.out)).toBe(written);
  });

  it('analyze --store stores a capture once; --store-again adds a copy', () => {
    const sample = fileURLToPath(new URL('../../../test/fixtures/sample.pcap', import.meta.url));
    // Kept forever: the fixture's capture date must not age out of the retention in later runs.
    const env = {
      RSTWATCH_CLICKHOUSE__EMBEDDED_PATH: join(tmp, 'chdb-once'),
      RSTWATCH_CLICKHOUSE__TTL_DAYS__RST_EVENTS: '0',
      RSTWATCH_CLICKHOUSE__TTL_DAYS__FLOWS: '0',
      RSTWATCH_CLICKHOUSE__TTL_DAYS__ROLLUPS: '0',
    };
    const events = () => {
      const q = cli(['query', 'top-causes', '--param', 'hours=4294967295', '--format', 'json'], env);
      expect(q.code).toBe(0);
      return (JSON.parse(q.out) as { events: number }[]).reduce((n, r) => n + Number(r.events), 0);
    };
    const first = cli(['analyze', sample, '--store', '--no-progress'], env);
    expect(first.code).toBe(0);
    expect(first.err).not.toMatch(/already stored/);
    expect(events()).toBe(74);
    const second = cli(['analyze', sample, '--store', '--no-progress'], env);
    expect(second.code).toBe(0);
    expect(second.out).toContain('74 RSTs');
    expect(second.err).toMatch(/is already stored \(74 events, 78 flows .*--store-again adds another copy/);
    expect(events()).toBe(74);
    const again = cli(['analyze', sample, '--store-again', '--no-progress'], env);
    expect(again.code).toBe(0);
    expect(again.err).not.toMatch(/already stored/);
    expect(events()).toBe(148);
  });

  it('analyze --store keeps an old capture and says what it stored; query --since finds it, an empty window says where the data is', () => {
    const old = join(tmp, 'old.pcap'); // tracegen starts on 2026-01-01 unless told otherwise
    expect(cli(['generate', '--packets', '2000', '--seed', '5', '--out', old]).code).toBe(0);
    const env = { RSTWATCH_CLICKHOUSE__EMBEDDED_PATH: join(tmp, 'chdb-retention') };
    const r = cli(['analyze', old, '--store', '--no-progress', '--format', 'ndjson'], env);
    expect(r.code).toBe(0);
    const events = r.out.trim().split('\n').length;
    // Retention counts from when rows are stored: nothing about the capture's age to warn of.
    expect(r.err).not.toMatch(/warning/);
    expect(r.err).toMatch(
      new RegExp(`stored ${events} events, \\d+ flows and \\d+ alert versions in embedded`),
    );
    // The default window (24 h back from now) is empty: the hint names the data's range and the flags.
    const empty = cli(['query', 'top-causes', '--format', 'json'], env);
    expect(empty.code).toBe(0);
    expect(JSON.parse(empty.out)).toEqual([]);
    expect(empty.err).toMatch(
      /no rows in this window; \w+ holds \d+ rows from 2026-01-01.* --since 2026-01-01 --until 2026-01-02/,
    );
    const total = (args: string[]) => {
      const q = cli(['query', 'top-causes', '--format', 'json', ...args], env);
      expect(q.code, q.err).toBe(0);
      return (JSON.parse(q.out) as { events: number }[]).reduce((n, x) => n + Number(x.events), 0);
    };
    expect(total(['--since', '2026-01-01', '--until', '2026-01-02'])).toBe(events);
    expect(total(['--since', '2026-01-02'])).toBe(0);
    expect(total(['--since', '3650d'])).toBe(events);
    const bad = cli(['query', 'top-causes', '--since', 'last tuesday'], env);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--since 'last tuesday': expected an RFC 3339 time/);
  });

  it('run --pcap stores a capture once, prints the summary and serves /metrics and /healthz while it runs', async () => {
    const sample = join(root, 'test/fixtures/sample.pcap');
    const port = await new Promise<number>((res) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const a = srv.address() as { port: number };
        srv.close(() => res(a.port));
      });
    });
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: tmp,
      RSTWATCH_CLICKHOUSE__EMBEDDED_PATH: join(tmp, 'chdb-run'),
      RSTWATCH_METRICS__LISTEN: `127.0.0.1:${port}`,
      RSTWATCH_LOG__LEVEL: 'info',
    };
    // Paced (the capture spans ~2.5 min): the endpoint can be scraped while the run goes on.
    const child = spawn(process.execPath, [bin, 'run', '--pcap', sample, '--replay-speed', '25x'], {
      cwd: tmp,
      env,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    let metrics = '';
    for (let i = 0; i < 100 && !/rstwatch_run_headers_total\{[^}]*\} [1-9]/.test(metrics); i++) {
      await new Promise((r) => setTimeout(r, 200));
      metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then(
        (r) => r.text(),
        () => '',
      );
    }
    expect(metrics).toMatch(/rstwatch_run_headers_total\{[^}]*\} [1-9]/);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(await exited, err).toBe(0);
    expect(out).toContain('653 TCP headers, 78 flows, 74 RSTs');
    expect(err).toMatch(/stored 74 events, 78 flows and \d+ alert versions/);
    const again = cli(['run', '--pcap', sample], { ...env, RSTWATCH_METRICS__ENABLED: 'false' });
    expect(again.code).toBe(0);
    expect(again.err).toMatch(/already stored; classifying without storing it twice/);
    expect(again.out).toContain('74 RSTs');
    const q = cli(['query', 'top-causes', '--since', '3650d', '--format', 'json'], env);
    expect((JSON.parse(q.out) as { events: number }[]).reduce((n, x) => n + Number(x.events), 0)).toBe(74);
  }, 60_000);

  it('agent without a source: exit 2', () => {
    const r = cli(['agent', '--brokers', '127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--iface');
  });

  it('agent with a missing capture file: exit 3', () => {
    const r = cli(['agent', '--pcap', join(tmp, 'missing.pcap'), '--brokers', '127.0.0.1:1']);
    expect(r.code).toBe(3);
  });

  it('generate writes a capture', () => {
    const out = join(tmp, 'gen.pcap');
    const r = cli(['generate', '--packets', '200', '--seed', '3', '--out', out]);
    expect(r.code).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(r.out).toContain('200 packets');
  });

  it('generate --concurrent --mix --start: shapes and dates the capture; defaults unchanged', () => {
    const first = (f: string) => {
      const b = readFileSync(f);
      return b.readUInt32LE(24) * 1e6 + b.readUInt32LE(28);
    };
    const def = join(tmp, 'gen-def.pcap');
    const same = join(tmp, 'gen-same.pcap');
    expect(cli(['generate', '--packets', '3000', '--out', def]).code).toBe(0);
    expect(
      cli(['generate', '--packets', '3000', '--out', same, '--mix', 'default', '--concurrent', '5000']).code,
    ).toBe(0);
    expect(readFileSync(same).equals(readFileSync(def))).toBe(true);
    expect(first(def)).toBeGreaterThanOrEqual(Date.UTC(2026, 0, 1) * 1000);
    expect(first(def)).toBeLessThan(Date.UTC(2026, 0, 1, 0, 0, 3) * 1000);

    const short = join(tmp, 'gen-short.pcap');
    const r = cli(['generate', '--packets', '3000', '--out', short, '--mix', 'short', '--concurrent', '50']);
    expect(r.code).toBe(0);
    const conns = (out: string) => Number(/(\d+) connections/.exec(out)![1]);
    expect(conns(r.out)).toBeGreaterThan(200); // ~10 packets each (the default mix: ~90)

    const rfc = join(tmp, 'gen-rfc.pcap');
    const epoch = join(tmp, 'gen-epoch.pcap');
    expect(
      cli(['generate', '--packets', '500', '--out', rfc, '--start', '2027-03-01T12:00:00+01:00']).code,
    ).toBe(0);
    expect(cli(['generate', '--packets', '500', '--out', epoch, '--start', '1803898800']).code).toBe(0);
    expect(readFileSync(rfc).equals(readFileSync(epoch))).toBe(true);
    expect(Math.floor(first(rfc) / 1e6)).toBeGreaterThanOrEqual(1803898800);

    const bad = cli(['generate', '--packets', '10', '--out', join(tmp, 'x.pcap'), '--start', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--start');
    expect(cli(['generate', '--packets', '10', '--out', join(tmp, 'x.pcap'), '--mix', 'huge']).code).toBe(2);
  });

  it('migrate --dry-run prints the DDL', () => {
    const m = cli(['migrate', '--dry-run']);
    expect(m.err).toBe('');
    expect(m.code).toBe(0);
    expect(m.out).toMatch(/CREATE TABLE/i);
  });

  it('query --list names queries; unknown query exits 2', () => {
    const l = cli(['query', '--list']);
    expect(l.code).toBe(0);
    expect(l.out).toContain('--param');
    const q = cli(['query', 'no-such-query']);
    expect(q.code).toBe(2);
    expect(q.err).toContain('unknown query');
  });
});
