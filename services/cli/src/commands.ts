/** Subcommand handlers: load the configuration with the flags as overrides, start the job, map errors. */

// Each command loads the packages it needs when it runs (Kafka, ClickHouse and metrics clients cost
// tenths of a second to load; `analyze` and `--help` need none of them).
import type { Agent } from '@rstwatch/agent';
import { type Config, ConfigError, type DeepPartial, dumpConfig, loadConfig } from '@rstwatch/config';
import type { Command } from 'commander';
import { type CliIo, errorChain, readable } from './cli.js';
import { CliError, EXIT_FAILURE, EXIT_INPUT, EXIT_OK, EXIT_USAGE } from './exit.js';
import { type Overrides, overridesFrom } from './overrides.js';
import { formatTable } from './table.js';

type Opts = Record<string, unknown>;

/** `@rstwatch/processor`, loaded only by the commands that need it (the agent does not). */
function processor(): Promise<typeof import('@rstwatch/processor')> {
  return import('@rstwatch/processor');
}

const opt = <T>(o: Opts, k: string): T | undefined => o[k] as T | undefined;

/** Load the configuration: defaults < file < env < flags. Config errors exit 2, a missing file 3. */
export async function configFor(cmd: Command, io: CliIo, overrides: Overrides): Promise<Config> {
  // Overrides are built from flags; loadConfig validates them like any other source.
  const o = cmd.optsWithGlobals() as Opts;
  const file = opt<string>(o, 'config');
  if (file !== undefined) await readable(file, 'config file');
  const level = opt<string>(o, 'logLevel');
  const all =
    level !== undefined ? { ...overrides, log: { ...(overrides.log as object), level } } : overrides;
  try {
    return loadConfig({
      ...(file !== undefined ? { file } : {}),
      env: io.env,
      overrides: all as DeepPartial<Config>,
    });
  } catch (err) {
    if (err instanceof ConfigError || (err as Error).name === 'ConfigError') {
      throw new CliError(`configuration error: ${(err as Error).message}`, EXIT_USAGE, { cause: err });
    }
    throw err;
  }
}

async function logger(config: Config, name: string) {
  const { createLogger } = await import('@rstwatch/telemetry');
  return createLogger({ level: config.log.level, format: config.log.format, name });
}

/** Map an error from a long-running job to an exit code (capture file problems are input errors). */
function jobFailed(err: unknown, io: CliIo, what: string): number {
  const msg = errorChain(err);
  io.stderr.write(`rstwatch ${what}: ${msg}\n`);
  return /cannot read capture file|not a pcap or pcapng capture|no such file/i.test(msg)
    ? EXIT_INPUT
    : EXIT_FAILURE;
}

export async function agentCommand(cmd: Command, io: CliIo): Promise<number> {
  const o = cmd.opts() as Opts;
  const config = await configFor(
    cmd,
    io,
    overridesFrom([
      ['agent.iface', o.iface],
      ['agent.pcap', o.pcap],
      ['agent.replaySpeed', o.replaySpeed],
      ['agent.bpf', o.bpf],
      ['kafka.brokers', o.brokers],
      ['sensor.id', o.sensorId],
      ['metrics.listen', o.metricsListen],
      ['kafka.topics.headers', o.topic],
    ]),
  );
  const { agentRunConfig, registerAgentMetrics, runAgent } = await import('@rstwatch/agent');
  const { createMetrics, startHttpServer } = await import('@rstwatch/telemetry');
  const run = agentRunConfig(config);
  if ((run.iface === undefined) === (run.pcap === undefined)) {
    throw new CliError(
      'agent needs exactly one of --iface IF or --pcap FILE (or agent.iface / agent.pcap)',
      EXIT_USAGE,
    );
  }
  if (run.pcap !== undefined) await readable(run.pcap, 'capture file');
  const log = await logger(config, 'agent');
  let agent: Agent | undefined;
  let running = false;
  let server: { close(): Promise<void> } | undefined;
  try {
    // Start in order: metrics endpoint, then the agent (producer, capture); stop in reverse.
    if (config.metrics.enabled) {
      const { registry } = createMetrics();
      registerAgentMetrics(registry, () => agent);
      try {
        server = await startHttpServer({
          listen: config.metrics.listen,
          registry,
          health: () => ({ ok: true }),
          ready: () => ({
            ok: running,
            details: {
              bufferedBytes: agent?.stats.bufferedBytes ?? 0,
              sendFailures: agent?.stats.sendFailures ?? 0,
            },
          }),
        });
      } catch (err) {
        throw new Error(
          `starting the metrics endpoint on ${config.metrics.listen}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    }
    await runAgent(run, {
      signal: io.signal,
      logger: log,
      onStarted: (a) => {
        agent = a;
        running = true;
      },
    });
    return EXIT_OK;
  } catch (err) {
    return jobFailed(err, io, 'agent');
  } finally {
    running = false;
    await server?.close();
  }
}

export async function analyzeCommand(cmd: Command, io: CliIo): Promise<number> {
  const o = cmd.opts() as Opts;
  const file = cmd.args[0]!;
  const shards = o.shards as number | undefined;
  // The worker boots while the configuration and the analysis code load (closed on every way out).
  const { shardWorkers, startWorkerThreads } = await import('@rstwatch/processor/threads');
  const threads = startWorkerThreads(shardWorkers(shards));
  try {
    const config = await configFor(
      cmd,
      io,
      overridesFrom([
        ['classifier.idleTimeoutS', o.idleTimeout],
        ['classifier.checksums', checksumMode(o)],
        ['clickhouse.url', o.clickhouse],
        ['sensor.id', o.sensorId],
        ['alerts.webhook.url', o.webhook],
        ['alerts.syslog.url', o.syslog],
      ]),
    );
    if (file !== '-') await readable(file, 'capture file');
    else if (process.stdin.isTTY)
      throw new CliError(
        'analyze -: standard input is a terminal; pipe a capture into it (tcpdump -w - ... | rstwatch analyze -)',
        EXIT_USAGE,
      );
    const { analyze } = await import('@rstwatch/processor/analyze');
    return await analyze({
      file,
      format: o.format as 'table' | 'ndjson',
      ...(o.flows !== undefined ? { flowsOut: o.flows as string } : {}),
      ...(o.alerts !== undefined ? { alertsOut: o.alerts as string } : {}),
      ...(o.html !== undefined ? { htmlOut: o.html as string } : {}),
      store: o.store === true || o.storeAgain === true,
      storeAgain: o.storeAgain === true,
      config,
      stdout: io.stdout,
      stderr: io.stderr,
      ...(o.progress === false ? { progress: false } : {}),
      ...(shards !== undefined ? { shards } : {}),
      threads,
    });
  } finally {
    await threads.close();
  }
}

/** `--verify-checksums` / `--ignore-checksums` as a classifier.checksums override (undefined: config). */
function checksumMode(o: Opts): string | undefined {
  return o.verifyChecksums ? 'verify' : o.ignoreChecksums ? 'ignore' : undefined;
}

export async function runCommand(cmd: Command, io: CliIo): Promise<number> {
  const o = cmd.opts() as Opts;
  const config = await configFor(
    cmd,
    io,
    overridesFrom([
      ['classifier.checksums', checksumMode(o)],
      ['agent.replaySpeed', o.replaySpeed],
      ['clickhouse.url', o.clickhouse],
      ['sensor.id', o.sensorId],
      ['alerts.webhook.url', o.webhook],
      ['alerts.syslog.url', o.syslog],
    ]),
  );
  const iface = opt<string>(o, 'iface') ?? config.agent.iface;
  const pcap = opt<string>(o, 'pcap') ?? (iface === undefined ? config.agent.pcap : undefined);
  if ((iface === undefined) === (pcap === undefined)) {
    throw new CliError('run needs exactly one of --iface IF or --pcap FILE', EXIT_USAGE);
  }
  if (pcap !== undefined) await readable(pcap, 'capture file');
  const { runEmbedded } = await processor();
  try {
    await runEmbedded(config, {
      ...(iface !== undefined ? { iface } : {}),
      ...(pcap !== undefined ? { pcap } : {}),
      ...(o.alerts !== undefined ? { alertsOut: o.alerts as string } : {}),
      ...(o.storeAgain === true ? { storeAgain: true } : {}),
      stdout: io.stdout,
      signal: io.signal,
      logger: await logger(config, 'run'),
    });
    return EXIT_OK;
  } catch (err) {
    return jobFailed(err, io, 'run');
  }
}

/** A long-running Kafka service (`processor`, `detect`): flags as overrides, run until the signal, exit code. */
async function serviceCommand(
  cmd: Command,
  io: CliIo,
  name: 'processor' | 'detect',
  groupKey: string,
  extra: [string, unknown][],
): Promise<number> {
  const o = cmd.opts() as Opts;
  const config = await configFor(
    cmd,
    io,
    overridesFrom([
      ['kafka.brokers', o.brokers],
      ['clickhouse.url', o.clickhouse],
      [groupKey, o.group],
      ['metrics.listen', o.metricsListen],
      ...extra,
    ]),
  );
  const p = await processor();
  const run = name === 'processor' ? p.runProcessor : p.runDetect;
  try {
    await run(config, { signal: io.signal, logger: await logger(config, name) });
    return EXIT_OK;
  } catch (err) {
    return jobFailed(err, io, name);
  }
}

export function processorCommand(cmd: Command, io: CliIo): Promise<number> {
  return serviceCommand(cmd, io, 'processor', 'processor.groupId', []);
}

export function detectCommand(cmd: Command, io: CliIo): Promise<number> {
  const o = cmd.opts() as Opts;
  return serviceCommand(cmd, io, 'detect', 'alerts.groupId', [
    ['alerts.webhook.url', o.webhook],
    ['alerts.syslog.url', o.syslog],
  ]);
}

export async function migrateCommand(cmd: Command, io: CliIo): Promise<number> {
  const o = cmd.opts() as Opts;
  const config = await configFor(cmd, io, overridesFrom([['clickhouse.url', o.clickhouse]]));
  const migrateOpts = {
    ...(config.clickhouse.cluster ? { cluster: config.clickhouse.cluster } : {}),
    ttlDays: config.clickhouse.ttlDays,
  };
  if (o.dryRun === true) {
    const { planDdl } = await import('@rstwatch/store');
    for (const sql of planDdl(config.clickhouse.database, migrateOpts)) io.stdout.write(`${sql.trim()};\n\n`);
    return EXIT_OK;
  }
  const { clickhouseFromConfig, migrateFromConfig } = await processor();
  const client = clickhouseFromConfig(config);
  try {
    await migrateFromConfig(client, config);
    io.stdout.write(`schema of ${client.database} at ${client.url} is up to date\n`);
    return EXIT_OK;
  } catch (err) {
    return jobFailed(err, io, 'migrate');
  } finally {
    await client.close();
  }
}

/**
 * A time for --since/--until, as Unix seconds: RFC 3339 (`2026-01-01`, `2026-01-01T10:00:00Z`), Unix
 * seconds, or a duration back from now (`7d`, `12h`, `30m`).
 */
export function timeArg(flag: string, v: string, nowMs = Date.now()): number {
  const rel = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(v.trim());
  if (rel) {
    const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[rel[2] as 's' | 'm' | 'h' | 'd' | 'w'];
    return Math.max(1, Math.floor(nowMs / 1000 - Number(rel[1]) * unit));
  }
  if (/^\d{9,10}$/.test(v.trim())) return Number(v.trim());
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v.trim()) ? `${v.trim()}T00:00:00Z` : v.trim());
  if (Number.isNaN(ms) || ms < 1000) {
    throw new CliError(
      `${flag} '${v}': expected an RFC 3339 time (2026-01-01, 2026-01-01T10:00:00Z), Unix seconds, or a duration back from now (7d, 12h)`,
      EXIT_USAGE,
    );
  }
  return Math.floor(ms / 1000);
}

/** The day after an ISO time's date (an exclusive --until that covers the last row). */
function nextDay(iso: string): string {
  const ms = Date.parse(iso.endsWith('Z') || iso.includes('+') ? iso : `${iso.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? iso : new Date(ms + 86_400_000).toISOString().slice(0, 10);
}

export async function queryCommand(cmd: Command, io: CliIo): Promise<number> {
  const o = cmd.opts() as Opts;
  const { getQuery, QUERIES, runQuery } = await import('@rstwatch/store');
  if (o.list === true) {
    for (const q of QUERIES) {
      io.stdout.write(`${q.name}\n  ${q.description}\n`);
      for (const [k, p] of Object.entries(q.params))
        io.stdout.write(
          `    --param ${k}=<${p.type}> (default ${String(p.default)}) ${p.description ?? ''}\n`,
        );
    }
    return EXIT_OK;
  }
  const name = cmd.args[0];
  if (name === undefined) throw new CliError('query needs a NAME (see rstwatch query --list)', EXIT_USAGE);
  try {
    getQuery(name);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT_USAGE);
  }
  const params: Record<string, string> = {};
  for (const kv of (o.param as string[] | undefined) ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new CliError(`--param must be k=v, got '${kv}'`, EXIT_USAGE);
    params[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const windowed = getQuery(name).window !== undefined;
  for (const [flag, key] of [
    ['since', 'since'],
    ['until', 'until'],
  ] as const) {
    const v = opt<string>(o, flag);
    if (v === undefined) continue;
    if (!windowed)
      throw new CliError(`query ${name} has no time window: --${flag} does not apply`, EXIT_USAGE);
    params[key] = String(timeArg(`--${flag}`, v));
  }
  const config = await configFor(cmd, io, overridesFrom([['clickhouse.url', o.clickhouse]]));
  const { clickhouseFromConfig } = await processor();
  const client = clickhouseFromConfig(config);
  try {
    let rows: Record<string, unknown>[];
    try {
      rows = await runQuery(client, name, params);
    } catch (err) {
      if (/unknown parameter|must be/.test((err as Error).message))
        throw new CliError((err as Error).message, EXIT_USAGE);
      throw err;
    }
    if (o.format === 'json') io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else io.stdout.write(formatTable(rows));
    if (rows.length === 0 && windowed) {
      // An empty window over a table that has data: say where the data is and how to ask for it.
      const { dataRange } = await import('@rstwatch/store');
      const r = await dataRange(client, name).catch(() => null);
      if (r && r.rows > 0) {
        io.stderr.write(
          `rstwatch query: no rows in this window; ${r.table} holds ${r.rows} rows from ${r.first} to ${r.last} (UTC): ` +
            `ask with --since ${r.first.slice(0, 10)} --until ${nextDay(r.last)}\n`,
        );
      }
    }
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CliError) throw err;
    return jobFailed(err, io, 'query');
  } finally {
    await client.close();
  }
}

/** `generate --start`: RFC 3339 (`2026-03-01T12:00:00Z`, `...+02:00`, fractions) or epoch seconds; microseconds. */
export function parseStartTime(v: string): number {
  const t = v.trim();
  if (/^\d+(\.\d{1,6})?$/.test(t)) {
    const [sec, frac = ''] = t.split('.');
    return Number(sec) * 1_000_000 + Number(frac.padEnd(6, '0'));
  }
  const m = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?([Zz]|[+-]\d{2}:\d{2})$/.exec(t);
  const ms = m ? Date.parse(`${m[1]!.replace(/[t ]/, 'T')}${m[3]!.toUpperCase()}`) : Number.NaN;
  if (!m || !Number.isFinite(ms) || ms < 0)
    throw new CliError(
      `--start must be RFC 3339 (2026-01-01T00:00:00Z) or epoch seconds, got '${v}'`,
      EXIT_USAGE,
    );
  return ms * 1000 + Number((m[2] ?? '').padEnd(6, '0'));
}

export async function generateCommand(cmd: Command, io: CliIo): Promise<number> {
  const o = cmd.opts() as Opts;
  const startTsUs = o.start !== undefined ? parseStartTime(o.start as string) : undefined;
  const { generateTrace } = await import('@rstwatch/tracegen');
  try {
    const s = await generateTrace({
      out: o.out as string,
      packets: o.packets as number,
      seed: o.seed as number,
      mix: o.mix as 'short' | 'medium' | 'default' | 'long',
      ...(o.concurrent !== undefined ? { concurrentFlows: o.concurrent as number } : {}),
      ...(startTsUs !== undefined ? { startTsUs } : {}),
    });
    io.stdout.write(
      `wrote ${o.out as string}: ${s.packets} packets, ${s.flows} connections, ${s.rsts} RSTs, ${s.bytes} bytes\n`,
    );
    return EXIT_OK;
  } catch (err) {
    if (err instanceof RangeError) throw new CliError(err.message, EXIT_USAGE);
    return jobFailed(err, io, 'generate');
  }
}

export async function configCheckCommand(cmd: Command, io: CliIo): Promise<number> {
  await configFor(cmd, io, {});
  const file = (cmd.optsWithGlobals() as Opts).config as string | undefined;
  io.stdout.write(`configuration ${file ?? '(defaults + environment)'} is valid\n`);
  return EXIT_OK;
}

export async function configDumpCommand(cmd: Command, io: CliIo): Promise<number> {
  const config = await configFor(cmd, io, {});
  const o = cmd.opts() as Opts;
  io.stdout.write(dumpConfig(config, { redact: o.showSecrets !== true }));
  return EXIT_OK;
}
