/**
 * The `rstwatch` command line: one subcommand per job, each with `--help`. Flags become configuration
 * overrides (defaults < file < environment < flags). Errors are one line on stderr with a meaningful exit
 * code (see EXIT_CODES_HELP); configuration errors name the key and the allowed values.
 */
import { access } from 'node:fs/promises';
import { AGENT_VERSION } from '@rstwatch/agent/version';
import { LOG_LEVELS } from '@rstwatch/config/levels';
import { Command, CommanderError, Option } from 'commander';
import { CliError, EXIT_CODES_HELP, EXIT_FAILURE, EXIT_INPUT, EXIT_OK, EXIT_USAGE } from './exit.js';
import { list, type Overrides, overridesFrom } from './overrides.js';

/** Where the CLI reads and writes (the real process in main.ts, buffers in tests). */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM for long-running commands. */
  signal: AbortSignal;
}

/** Options every subcommand accepts. */
interface Common {
  config?: string;
}

type Handler = (cmd: Command) => Promise<number>;

function replaySpeed(v: string): string {
  if (v === 'max' || /^\d+(\.\d+)?x$/.test(v)) return v;
  throw new CliError(`--replay-speed must be 'max' or a factor like '1x' or '10x', got '${v}'`, EXIT_USAGE);
}

function integerAtLeast(min: number) {
  return (name: string) =>
    (v: string): number => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isSafeInteger(n) || n < min) {
        const what = min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
        throw new CliError(`${name} must be ${what}, got '${v}'`, EXIT_USAGE);
      }
      return n;
    };
}
const positiveInt = integerAtLeast(1);
const nonNegativeInt = integerAtLeast(0);

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** What the command definitions share: the I/O, the handler wrapper, the `--config` option. */
interface Wiring {
  io: CliIo;
  wrap: (h: Handler) => (...args: unknown[]) => Promise<void>;
  withConfig: (c: Command) => Command;
}

/** `rstwatch agent`. */
function defineAgent(program: Command, { io, wrap, withConfig }: Wiring): void {
  withConfig(
    program
      .command('agent')
      .description('capture TCP headers (interface or pcap file) and publish them to Kafka')
      .addOption(
        new Option('--iface <name>', 'live capture from this interface (needs CAP_NET_RAW)').conflicts(
          'pcap',
        ),
      )
      .option('--pcap <file>', 'replay this pcap/pcapng file instead of capturing')
      .option('--replay-speed <speed>', "pcap pacing: 'max' or '1x', '10x', ...", replaySpeed)
      .option('--brokers <list>', 'Kafka bootstrap brokers, comma-separated', list)
      .option('--sensor-id <id>', "this sensor's id (heartbeat key, batch metadata)")
      .option('--topic <name>', 'headers topic (default rstwatch.headers.v1)')
      .option('--bpf <filter>', "capture filter (agent.bpf); on VLAN trunks use 'tcp or (vlan and tcp)'")
      .option('--metrics-listen <addr>', 'Prometheus endpoint, host:port'),
  ).action(wrap((cmd) => import('./commands.js').then((m) => m.agentCommand(cmd, io))));
}

/** `rstwatch analyze FILE`. */
function defineAnalyze(program: Command, { io, wrap, withConfig }: Wiring): void {
  withConfig(
    program
      .command('analyze')
      .description('classify every RST in a capture file, in this process (no Kafka)')
      .argument('<file>', "pcap or pcapng capture; '-' reads one from standard input (tcpdump -w - ...)")
      .addOption(new Option('--format <fmt>', 'output format').choices(['table', 'ndjson']).default('table'))
      .option('--flows <out.ndjson>', 'also write one flow record per connection (NDJSON)')
      .option(
        '--alerts <out.ndjson>',
        'also write the alerts the detectors raise, one ECS JSON document per line',
      )
      .option(
        '--html <out.html>',
        'also write a self-contained HTML report: charts, alerts, and ladder diagrams of selected RSTs',
      )
      .option('--webhook <url>', 'POST every alert as JSON to this URL (alerts.webhook.url)')
      .option(
        '--syslog <url>',
        'send every alert to syslog: udp://, tcp:// or tls://host:port (alerts.syslog.url)',
      )
      .option('--store', 'also write events and flows to ClickHouse (embedded by default; once per capture)')
      .option('--store-again', 'with --store: store a capture that is already stored (adds another copy)')
      .option('--clickhouse <url>', "ClickHouse for --store: http(s)://host:port or 'embedded'")
      .option(
        '--idle-timeout <duration>',
        'a RST after an idle gap longer than this is idle_timeout, e.g. 90s, 2m, 500ms; a bare number is seconds (classifier.idleTimeoutS, default 120)',
      )
      .option(
        '--shards <n>',
        'classify with N engines in parallel (default 1; pays on big captures with more than 2 cores; per-host evidence is then learned per shard)',
        positiveInt('--shards'),
      )
      .addOption(
        new Option(
          '--verify-checksums',
          'a packet with a bad IPv4/TCP checksum changes no state, from every host (classifier.checksums=verify; default auto skips hosts whose checksums look offloaded)',
        ).conflicts('ignoreChecksums'),
      )
      .option('--ignore-checksums', "don't verify checksums, like zeek -C (classifier.checksums=ignore)")
      .option('--sensor-id <id>', 'sensor id recorded with the events (default: this host name)')
      .option('--no-progress', 'no progress line on stderr'),
  ).action(wrap((cmd) => import('./commands.js').then((m) => m.analyzeCommand(cmd, io))));
}

/** `rstwatch run`. */
function defineRun(program: Command, { io, wrap, withConfig }: Wiring): void {
  withConfig(
    program
      .command('run')
      .description('capture and classify in one process into ClickHouse (embedded by default), no Kafka')
      .addOption(new Option('--iface <name>', 'live capture from this interface').conflicts('pcap'))
      .option('--pcap <file>', 'read this capture file')
      .option('--replay-speed <speed>', "pcap pacing: 'max' or '1x', '10x', ...", replaySpeed)
      .option('--clickhouse <url>', "http(s)://host:port or 'embedded'")
      .addOption(
        new Option(
          '--verify-checksums',
          'a packet with a bad IPv4/TCP checksum changes no state, from every host (classifier.checksums=verify; default auto skips hosts whose checksums look offloaded)',
        ).conflicts('ignoreChecksums'),
      )
      .option('--ignore-checksums', "don't verify checksums, like zeek -C (classifier.checksums=ignore)")
      .option('--sensor-id <id>', 'sensor id recorded with the events')
      .option('--store-again', 'with --pcap: store a capture that is already stored (adds another copy)')
      .option('--alerts <out.ndjson>', 'also append the alerts raised, one ECS JSON document per line')
      .option('--webhook <url>', 'POST every alert as JSON to this URL (alerts.webhook.url)')
      .option(
        '--syslog <url>',
        'send every alert to syslog: udp://, tcp:// or tls://host:port (alerts.syslog.url)',
      ),
  ).action(wrap((cmd) => import('./commands.js').then((m) => m.runCommand(cmd, io))));
}

/** `rstwatch detect`, `processor`, `migrate`, `query`. */
function defineServices(program: Command, { io, wrap, withConfig }: Wiring): void {
  withConfig(
    program
      .command('detect')
      .description(
        'the detection stage: consume RST events from Kafka, raise alerts (ClickHouse, Kafka, webhook, syslog)',
      )
      .option('--brokers <list>', 'Kafka bootstrap brokers, comma-separated', list)
      .option('--clickhouse <url>', "http(s)://host:port or 'embedded'")
      .option('--group <id>', 'consumer group id (alerts.groupId)')
      .option('--metrics-listen <addr>', 'Prometheus endpoint, host:port')
      .option('--webhook <url>', 'POST every alert as JSON to this URL (alerts.webhook.url)')
      .option(
        '--syslog <url>',
        'send every alert to syslog: udp://, tcp:// or tls://host:port (alerts.syslog.url)',
      ),
  ).action(wrap((cmd) => import('./commands.js').then((m) => m.detectCommand(cmd, io))));

  withConfig(
    program
      .command('processor')
      .description('consume headers from Kafka, classify, write to ClickHouse (scale out: more instances)')
      .option('--brokers <list>', 'Kafka bootstrap brokers, comma-separated', list)
      .option('--clickhouse <url>', "http(s)://host:port or 'embedded'")
      .option('--group <id>', 'consumer group id')
      .option('--metrics-listen <addr>', 'Prometheus endpoint, host:port'),
  ).action(wrap((cmd) => import('./commands.js').then((m) => m.processorCommand(cmd, io))));

  withConfig(
    program
      .command('migrate')
      .description('create or upgrade the ClickHouse schema (idempotent)')
      .option('--clickhouse <url>', "http(s)://host:port or 'embedded'")
      .option('--dry-run', 'print the DDL instead of applying it'),
  ).action(wrap((cmd) => import('./commands.js').then((m) => m.migrateCommand(cmd, io))));

  withConfig(
    program
      .command('query')
      .description('run a named query against ClickHouse (--list shows them)')
      .argument('[name]', 'query name')
      .option('--list', 'list the named queries and their parameters')
      .option('-p, --param <k=v>', 'query parameter (repeatable)', collect)
      .option(
        '--since <time>',
        'window start: 2026-01-01, 2026-01-01T10:00:00Z, Unix seconds, or 7d / 12h back from now',
      )
      .option('--until <time>', 'window end (exclusive), same forms as --since')
      .addOption(new Option('--format <fmt>', 'output format').choices(['table', 'json']).default('table'))
      .option('--clickhouse <url>', "http(s)://host:port or 'embedded'"),
  ).action(wrap((cmd) => import('./commands.js').then((m) => m.queryCommand(cmd, io))));
}

/** `rstwatch generate`, `config check`, `config dump`. */
function defineTools(program: Command, { io, wrap, withConfig }: Wiring): void {
  program
    .command('generate')
    .description('write a deterministic synthetic capture (realistic mix incl. every RST cause)')
    .requiredOption('--packets <n>', 'number of packets', positiveInt('--packets'))
    .option('--seed <n>', 'PRNG seed (same seed, same file)', nonNegativeInt('--seed'), 1)
    .requiredOption('--out <file>', 'output pcap path')
    .option('--concurrent <n>', 'connections in progress at once (default 5000)', positiveInt('--concurrent'))
    .addOption(
      new Option('--mix <mix>', 'connection lengths: short ~10 packets, medium ~18, default ~90, long bulk')
        .choices(['short', 'medium', 'default', 'long'])
        .default('default'),
    )
    .option('--start <time>', 'capture start, RFC 3339 or epoch seconds (default 2026-01-01T00:00:00Z)')
    .action(wrap((cmd) => import('./commands.js').then((m) => m.generateCommand(cmd, io))));

  const config = program.command('config').description('check or print the effective configuration');
  withConfig(config.command('check').description('validate the configuration; exit 0 when valid')).action(
    wrap((cmd) => import('./commands.js').then((m) => m.configCheckCommand(cmd, io))),
  );
  withConfig(
    config
      .command('dump')
      .description('print the effective configuration (defaults < file < env < flags), secrets redacted')
      .option('--show-secrets', 'do not redact secrets'),
  ).action(wrap((cmd) => import('./commands.js').then((m) => m.configDumpCommand(cmd, io))));
}

/** Build the program. Handlers are imported lazily so `--help` stays fast and light. */
export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('rstwatch');
  program
    .description('Why are TCP connections being reset, and by whom? Capture, classify and query TCP RSTs.')
    .version(AGENT_VERSION, '-V, --version', 'print the version')
    .addOption(new Option('--log-level <level>', 'log level (overrides log.level)').choices([...LOG_LEVELS]))
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .addHelpText(
      'after',
      `\nConfiguration: --config FILE (YAML), overridden by RSTWATCH_* environment variables, overridden by flags.\n\n${EXIT_CODES_HELP}\n`,
    );

  const wrap =
    (h: Handler) =>
    async (..._args: unknown[]) => {
      const cmd = _args.at(-1) as Command;
      setExit(await h(cmd));
    };
  const withConfig = (c: Command) => c.option('-c, --config <file>', 'configuration file (YAML)');

  const wiring: Wiring = { io, wrap, withConfig };
  defineAgent(program, wiring);
  defineAnalyze(program, wiring);
  defineRun(program, wiring);
  defineServices(program, wiring);
  defineTools(program, wiring);
  for (const c of program.commands) c.addHelpText('after', `\n${EXIT_CODES_HELP}\n`);
  return program;
}

/** Run the CLI on `argv` (without node and script path); resolves with the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let code = EXIT_OK;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    return reportError(err, io);
  }
}

/** Print an error as one line (plus its cause chain) and return its exit code. */
export function reportError(err: unknown, io: Pick<CliIo, 'stderr'>): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK;
    // Commander already printed the message and the help hint.
    return EXIT_USAGE;
  }
  if (err instanceof CliError) {
    io.stderr.write(`rstwatch: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  if (e?.name === 'ConfigError') {
    io.stderr.write(`rstwatch: configuration error: ${e.message}\n`);
    return EXIT_USAGE;
  }
  io.stderr.write(`rstwatch: ${errorChain(e)}\n`);
  return EXIT_FAILURE;
}

/** `message: cause: cause...` without repeating messages already included. */
export function errorChain(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const msg = e instanceof Error ? e.message : String(e);
    if (!parts.some((p) => p.includes(msg))) parts.push(msg);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(': ');
}

/** Check a file named on the command line is readable (exit 3 otherwise). */
export async function readable(path: string, what: string): Promise<void> {
  try {
    await access(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(
      `cannot read ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(err)}`,
      EXIT_INPUT,
      { cause: err },
    );
  }
}

export type { Common, Overrides };
export { overridesFrom };
