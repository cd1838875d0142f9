/**
 * The one configuration schema for every rstwatch service. Each field is documented here, once;
 * `configDocs()` renders these descriptions into docs/config.md.
 */
import { availableParallelism, homedir, hostname } from 'node:os';
import { join } from 'node:path';
// Only the engine's config module (no imports of its own): the engine itself is not loaded here.
import { DEFAULT_ENGINE_CONFIG as ENGINE, type EngineConfig } from '@rstwatch/classify/config';
import * as z from 'zod';
import {
  anyStr,
  bool,
  clickhouseUrl,
  duration,
  filePath,
  hostPort,
  identifier,
  intRange,
  nonNegInt,
  oneOf,
  posInt,
  replaySpeed,
  runtimeDefault,
  section,
  str,
  syslogUrl,
  webhookUrl,
} from './internal/types.js';

import { LOG_LEVELS } from './levels.js';

export { LOG_LEVELS };

/** `$XDG_DATA_HOME/rstwatch/chdb`, else `~/.local/share/rstwatch/chdb` (as @rstwatch/store's `defaultEmbeddedPath`). */
export function defaultEmbeddedPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME ? env.XDG_DATA_HOME : join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'rstwatch', 'chdb');
}
export const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export const SASL_MECHANISMS = ['none', 'plain', 'scram-sha-256', 'scram-sha-512'] as const;

const sensor = section(
  {
    id: runtimeDefault(
      str(),
      () => hostname(),
      'the host name',
      'Sensor id stamped on every header batch, event and metric; unique per capture point.',
    ),
  },
  'Identity of this capture point.',
);

const log = section(
  {
    level: oneOf(LOG_LEVELS).default('info').describe('Minimum level of log lines written.'),
    format: oneOf(['json', 'pretty'])
      .default('json')
      .describe('`json`: one JSON object per line on stderr (for collectors); `pretty`: for people.'),
  },
  'Structured logs, always on stderr so stdout stays free for command output.',
);

const metrics = section(
  {
    enabled: bool().default(true).describe('Serve Prometheus metrics and the health endpoints.'),
    listen: hostPort()
      .default('127.0.0.1:9464')
      .describe(
        'Address of the HTTP server for `/metrics`, `/healthz` and `/readyz`; port 0 picks a free one.',
      ),
  },
  'Prometheus metrics and health endpoints (see docs/metrics.md).',
);

const kafka = section(
  {
    brokers: z
      .array(hostPort())
      .min(1)
      .default(['127.0.0.1:9092'])
      .describe('Bootstrap brokers. In the environment: a comma-separated list.'),
    clientId: str().default('rstwatch').describe('Kafka client id (shows in broker logs and quotas).'),
    ssl: section(
      {
        enabled: bool().default(false).describe('Connect with TLS.'),
        ca: filePath()
          .optional()
          .describe('PEM file with the CA certificates to trust (default: the system CAs).'),
        cert: filePath().optional().describe('PEM client certificate for mutual TLS.'),
        key: filePath().optional().describe('PEM private key of the client certificate.'),
        rejectUnauthorized: bool()
          .default(true)
          .describe('Verify the broker certificate. Turn off only for tests.'),
      },
      'TLS to the brokers.',
    ),
    sasl: section(
      {
        mechanism: oneOf(SASL_MECHANISMS).default('none').describe('SASL mechanism; `none` disables SASL.'),
        username: str().optional().describe('SASL user name (required unless the mechanism is `none`).'),
        password: str()
          .optional()
          .describe('SASL password. Prefer `passwordFile`; redacted by `rstwatch config dump`.'),
        passwordFile: filePath()
          .optional()
          .describe('File whose content (trailing newline removed) is the SASL password.'),
      },
      'SASL authentication to the brokers.',
    ),
    topics: section(
      {
        headers: str()
          .default('rstwatch.headers.v1')
          .describe('Columnar TCP header batches, agent to processor.'),
        sensors: str().default('rstwatch.sensors.v1').describe('Sensor heartbeats and capture statistics.'),
        alerts: str()
          .default('rstwatch.alerts.v1')
          .describe('Alerts as JSON documents with ECS field names, written by the detection stage.'),
        events: str()
          .default('rstwatch.events.v1')
          .describe(
            'RST events, processor to detection stage: one message per event and entity kind, keyed by that entity.',
          ),
        deadLetter: str()
          .default('rstwatch.headers.dlq.v1')
          .describe('Undecodable messages from the headers topic, with the error.'),
      },
      'Topic names; the wire version is part of the name.',
    ),
  },
  'Kafka connection shared by the agent and the processor.',
);

const agent = section(
  {
    iface: str().optional().describe('Network interface to capture from (live capture).'),
    pcap: filePath().optional().describe('pcap or pcapng file to replay instead of a live capture.'),
    bpf: anyStr()
      .default('tcp or (vlan and tcp)')
      .describe('BPF filter applied at capture (plain `tcp` would miss 802.1Q-tagged frames).'),
    snaplen: intRange(64, 262144)
      .default(256)
      .describe('Bytes captured per packet (headers plus RST payload).'),
    replaySpeed: replaySpeed()
      .default('max')
      .describe('Replay pace of `pcap`: `max` as fast as possible, `1x` real time, `10x` ten times faster.'),
    batch: section(
      {
        maxHeaders: posInt().default(4096).describe('Headers per Kafka message at most.'),
        maxBytes: posInt().default(1048576).describe('Encoded bytes per Kafka message at most.'),
        lingerMs: duration('ms', 0)
          .default(50)
          .describe('Longest time a partly filled batch waits before it is sent.'),
      },
      'Batching of headers into Kafka messages (one batch per partition).',
    ),
    bufferMaxBytes: posInt()
      .default(67108864)
      .describe('Bound on batches waiting for Kafka; beyond it headers are dropped and counted.'),
    compression: oneOf(COMPRESSIONS)
      .default('lz4')
      .describe(
        'Kafka message compression. lz4 measured fastest with half the bytes of none; zstd is smallest (docs/agent.md).',
      ),
    acks: oneOf(['all', 'leader', 'none'])
      .default('all')
      .describe('Acknowledgements the producer waits for.'),
    idempotent: bool()
      .default(true)
      .describe('Idempotent producer (no duplicates on retry; needs `acks: all`).'),
    heartbeatIntervalS: duration('s', 0.1)
      .default(5)
      .describe('Seconds between sensor heartbeats on the sensors topic.'),
    retries: nonNegInt().default(5).describe('Producer retries per message before it counts as lost.'),
  },
  'The capture agent: packets to header batches to Kafka.',
);

const processor = section(
  {
    groupId: str()
      .default('rstwatch-processor')
      .describe('Kafka consumer group shared by all processor instances.'),
    workers: runtimeDefault(
      posInt(),
      () => availableParallelism(),
      'the number of CPUs',
      'Worker threads that decode and classify batches.',
    ),
    maxInFlightBytes: posInt()
      .default(268435456)
      .describe('Bound on fetched but unfinished batch bytes; the consumer pauses beyond it.'),
    warmupMessages: nonNegInt()
      .default(100)
      .describe(
        'Messages replayed before the committed offset when a partition is assigned, to rebuild flow state; output for them is suppressed.',
      ),
    mergeDelayMs: duration('ms', 0)
      .default(500)
      .describe(
        'Source merge delay: when several sensors (e.g. the two taps of a link) publish into one partition, their headers are merged by capture time, waiting for every source whose last batch arrived within this many milliseconds (Kafka timestamps); a header waits at most this long, later ones are counted as late. A partition with one source passes through unchanged after its first delay of arrival time; 0 turns the merge off (batches go to the engine in offset order, as from one source). See docs/processor.md.',
      ),
    shutdownDeadlineS: duration('s', 1)
      .default(30)
      .describe('Seconds to flush and commit on shutdown before giving up (uncommitted work is replayed).'),
    fromBeginning: bool()
      .default(true)
      .describe('Start at the earliest offset when the group has no committed offset.'),
  },
  'The processor: Kafka to workers to ClickHouse and alerts.',
);

const classifier = section(
  {
    maxFlows: posInt()
      .default(ENGINE.maxFlows)
      .describe('Flows tracked per partition; the idlest is evicted (and counted) beyond it.'),
    flowIdleExpiryS: duration('s', 1)
      .default(ENGINE.flowIdleExpiryS)
      .describe('Seconds without packets after which a flow is expired and recorded.'),
    idleTimeoutS: duration('s', 0.001)
      .default(ENGINE.idleTimeoutS)
      .describe('A RST after a gap longer than this many seconds is an `idle_timeout`.'),
    holdMs: duration('ms', 0)
      .default(ENGINE.holdMs)
      .describe('How long a RST is held (capture time) to see what follows it before it is classified.'),
    holdPackets: nonNegInt()
      .default(ENGINE.holdPackets)
      .describe('Packets of the same flow after which a held RST is classified anyway.'),
    duplicateWindowMs: duration('ms', 0)
      .default(ENGINE.duplicateWindowMs)
      .describe(
        'A packet seen again within this window (same flow and direction, IP ID, flags, seq, ack, payload length) is a SPAN duplicate: counted, not processed again. SPAN copies come within the switch latency (microseconds); a retransmission waits an RTO (200 ms or more), but a host can send identical packets (IPv6 RSTs answering each segment of a peer) a few hundred microseconds apart, hence `100us`. 0 turns it off.',
      ),
    reorderWindowMs: duration('ms', 0)
      .default(ENGINE.reorderWindowMs)
      .describe(
        'Clock disagreement tolerated between the taps of the two directions (`200us` suits NTP-synced hosts): a packet that answers one stamped up to this much later is processed after it, and a RST so reordered carries the evidence `reordered`. 0 turns it off.',
      ),
    timeWaitS: duration('s', 0)
      .default(ENGINE.timeWaitS)
      .describe('Seconds a closed 4-tuple is remembered as TIME_WAIT (2*MSL).'),
    scanWindowS: duration('s', 0.001)
      .default(ENGINE.scanWindowS)
      .describe('Window in which ports probed per source are counted for scan detection.'),
    scanMinPorts: posInt()
      .default(ENGINE.scanMinPorts)
      .describe('Distinct ports per source within the window that make a scan.'),
    retransmitMin: posInt()
      .default(ENGINE.retransmitMin)
      .describe('Retransmissions of one segment before a RST from that side is a `retransmission_timeout`.'),
    burstWindowMs: duration('ms', 1)
      .default(ENGINE.burstWindowMs)
      .describe('Window for counting RST bursts towards one victim.'),
    burstMinRsts: posInt()
      .default(ENGINE.burstMinRsts)
      .describe('RSTs within the burst window that make a burst (reset attack evidence).'),
    maxHosts: posInt()
      .default(ENGINE.maxHosts)
      .describe('Hosts whose TTL / IP ID baseline is kept; least recently seen evicted.'),
    checksums: oneOf(['auto', 'verify', 'ignore'])
      .default(ENGINE.checksums)
      .describe(
        'IPv4 and TCP checksums of wholly captured segments: `verify` (a packet with a bad checksum changes no state, is counted, and a RST with one gets `bad_checksum` evidence), `ignore` (Zeek `-C`: not computed), `auto` (verify, but not for hosts whose checksums look offloaded: see docs/processor.md).',
      ),
  } satisfies Record<keyof EngineConfig, z.ZodType>,
  'RST classification (names and defaults shared with the classifier engine).',
);

const severity = oneOf(['low', 'medium', 'high', 'critical']);
const rule = <S extends z.ZodRawShape>(shape: S, sev: 'low' | 'medium' | 'high' | 'critical', doc: string) =>
  section(
    {
      enabled: bool().default(true).describe('Run this detector.'),
      severity: severity.default(sev).describe('Severity of its alerts (ECS `event.severity` follows it).'),
      ...shape,
    },
    doc,
  );

const alerts = section(
  {
    enabled: bool().default(true).describe('Run the detectors (embedded modes and the `detect` service).'),
    quietS: duration('s', 1)
      .default(300)
      .describe('An open alert closes after this many seconds of capture time without new evidence.'),
    maxEntities: posInt()
      .default(100000)
      .describe(
        'Entities (hosts, services) tracked per detector; the least recently seen is evicted and counted.',
      ),
    sampleSize: intRange(1, 1000)
      .default(10)
      .describe('Community IDs and source addresses kept per alert as a sample.'),
    groupId: str()
      .default('rstwatch-detect')
      .describe(
        'Kafka consumer group of the detection stage (`rstwatch detect`), reading `kafka.topics.events`.',
      ),
    replayMessages: nonNegInt()
      .default(200000)
      .describe(
        'Events replayed before the committed offset when the detection stage takes over a partition, to rebuild windows and open alerts; their alerts are not written again.',
      ),
    suppress: z
      .array(
        z.strictObject({
          rule: oneOf([
            'reset_attack',
            'port_scan',
            'middlebox_tampering',
            'backlog_overflow_storm',
            'rst_rate_anomaly',
            'idle_timeout_fingerprint',
          ])
            .optional()
            .describe('Rule to suppress (all rules when omitted).'),
          entity: anyStr()
            .optional()
            .describe('Exact entity (`ip` or `ip:port`), or a CIDR such as `198.18.0.0/15`.'),
          source: anyStr()
            .optional()
            .describe('Source address or CIDR: suppress alerts whose every source is in it.'),
          reason: anyStr().optional().describe('Why (shown in `config dump`; for people).'),
        }),
      )
      .default([])
      .describe(
        'Suppression rules: an alert matching every field given in one rule is not raised (counted as suppressed).',
      ),
    reset_attack: rule(
      {
        windowS: duration('s', 1)
          .default(60)
          .describe('Window in which forged-looking RSTs to one victim are counted.'),
      },
      'high',
      'Forged RSTs aimed at one victim. Fires at `classifier.burstMinRsts` (default 5) RSTs classified `reset_attack`, or in-window-but-inexact / stepping / racing live data, within `windowS`.',
    ),
    port_scan: rule(
      {
        minHosts: posInt()
          .default(10)
          .describe(
            'Distinct hosts probed on one port by one source within the window that make a horizontal scan.',
          ),
      },
      'medium',
      'One source probing many ports of a host (`classifier.scanMinPorts`, default 10) or many hosts on one port (`minHosts`) within `classifier.scanWindowS`, seen through `syn_scan`, `connect_scan` and `closed_port` RSTs.',
    ),
    middlebox_tampering: rule(
      {
        windowS: duration('s', 1)
          .default(300)
          .describe('Window in which injected and firewall resets per service are counted.'),
        minRsts: posInt()
          .default(3)
          .describe('Injected or firewall resets on one service within the window.'),
      },
      'medium',
      'Resets injected by an on-path device (`injected_reset`, `firewall_reject`, origin `middlebox`) on one service, with TTL/hop and tampering-signature evidence.',
    ),
    backlog_overflow_storm: rule(
      {
        windowS: duration('s', 1)
          .default(10)
          .describe('Window in which `backlog_overflow` resets per server:port are counted.'),
        minRsts: posInt().default(10).describe('Resets within the window that make a storm.'),
      },
      'high',
      'A server:port resetting completed handshakes (accept queue overflow) above a rate.',
    ),
    rst_rate_anomaly: rule(
      {
        bucketS: duration('s', 1)
          .default(60)
          .describe('Seconds per rate bucket (RSTs per service and cause are counted per bucket).'),
        alpha: z
          .number()
          .gt(0)
          .lt(1)
          .default(0.1)
          .describe('EWMA weight of the newest bucket in the learned mean and variance.'),
        warmupBuckets: posInt()
          .default(10)
          .describe('Buckets learned before the detector may fire for a series.'),
        zScore: z
          .number()
          .positive()
          .default(4)
          .describe('Standard deviations above the learned mean that make an anomaly.'),
        minRsts: posInt()
          .default(20)
          .describe('A bucket needs at least this many RSTs to be anomalous (quiet services stay quiet).'),
      },
      'medium',
      'RST rate per service and cause against a learned baseline (EWMA of mean and variance, with a warm-up).',
    ),
    idle_timeout_fingerprint: rule(
      {
        minRsts: posInt()
          .default(5)
          .describe('Resets after the same idle duration on one service that make a fingerprint.'),
        toleranceS: duration('s', 0)
          .default(2)
          .describe('Idle durations within this many seconds count as the same timer.'),
        minIdleS: duration('s', 1).default(5).describe('Shortest idle gap before a RST that can be a timer.'),
      },
      'low',
      'Many resets after the same idle duration on one service: a load balancer or firewall timer, learned from the traffic.',
    ),
    webhook: section(
      {
        url: webhookUrl().default('').describe('POST each alert as JSON to this http(s) URL; empty: off.'),
        secret: str()
          .optional()
          .describe('HMAC-SHA256 key for the `X-Rstwatch-Signature` header. Prefer `secretFile`.'),
        secretFile: filePath()
          .optional()
          .describe('File whose content (trailing newline removed) is the HMAC key.'),
        timeoutMs: duration('ms', 1).default(5000).describe('Timeout of one POST.'),
        retries: nonNegInt()
          .default(5)
          .describe(
            'Retries of a failed POST (exponential backoff) before the alert is kept as undelivered.',
          ),
      },
      'Webhook delivery.',
    ),
    syslog: section(
      {
        url: syslogUrl()
          .default('')
          .describe(
            '`udp://host:port`, `tcp://host:port` or `tls://host:port` (RFC 5424; TCP and TLS octet-counted, RFC 6587/5425); empty: off.',
          ),
        format: oneOf(['json', 'cef'])
          .default('json')
          .describe('Message body: the ECS JSON document, or CEF.'),
        appName: str().default('rstwatch').describe('RFC 5424 APP-NAME.'),
        facility: intRange(0, 23).default(4).describe('Syslog facility number (4: security/authorization).'),
        ca: filePath().optional().describe('PEM CA certificates to trust for `tls://`.'),
        rejectUnauthorized: bool()
          .default(true)
          .describe('Verify the TLS server certificate. Turn off only for tests.'),
        timeoutMs: duration('ms', 1).default(5000).describe('Connect and write timeout.'),
        retries: nonNegInt()
          .default(5)
          .describe('Retries of a failed send before the alert is kept as undelivered.'),
      },
      'Syslog delivery.',
    ),
    undeliveredPath: anyStr()
      .default('')
      .describe(
        'NDJSON file where alerts that a sink could not deliver after its retries are kept; empty: `undelivered-alerts.ndjson` beside the embedded data directory (`clickhouse.embeddedPath`; by default `~/.local/share/rstwatch/undelivered-alerts.ndjson`, or under `$XDG_DATA_HOME/rstwatch/`).',
      ),
  },
  'Detectors and alert delivery (see docs/alerts.md).',
);

const clickhouse = section(
  {
    url: clickhouseUrl()
      .default('embedded')
      .describe(
        '`embedded` runs ClickHouse in process (chdb, data in `embeddedPath`); otherwise the server URL.',
      ),
    database: identifier().default('rstwatch').describe('Database holding the rstwatch tables.'),
    username: str().default('default').describe('ClickHouse user.'),
    password: str()
      .optional()
      .describe('ClickHouse password. Prefer `passwordFile`; redacted by `rstwatch config dump`.'),
    passwordFile: filePath()
      .optional()
      .describe('File whose content (trailing newline removed) is the password.'),
    tls: section(
      {
        ca: filePath().optional().describe('PEM CA certificates to trust for https URLs.'),
        cert: filePath().optional().describe('PEM client certificate for mutual TLS.'),
        key: filePath().optional().describe('PEM private key of the client certificate.'),
      },
      'TLS for https URLs.',
    ),
    embeddedPath: runtimeDefault(
      filePath(),
      () => defaultEmbeddedPath(),
      '`$XDG_DATA_HOME/rstwatch/chdb`, else `~/.local/share/rstwatch/chdb`',
      'Data directory of the embedded engine; one per user by default, so every command finds the same data whatever the working directory.',
    ),
    cluster: anyStr()
      .default('')
      .describe(
        'Cluster name for ON CLUSTER DDL and Replicated/Distributed tables; empty for a single server.',
      ),
    ttlDays: section(
      {
        rst_events: intRange(0, 25_000)
          .default(90)
          .describe(
            'Days `rst_events` rows are kept, and (unless `rollups` is set) the rollups fed from them, so the rollup queries (`top-causes`) and the raw ones (`top-reset-senders`) count the same RSTs.',
          ),
        flows: intRange(0, 25_000).default(30).describe('Days `flows` rows are kept.'),
        sensor_stats: intRange(0, 25_000).default(30).describe('Days `sensor_stats` rows are kept.'),
        header_batches: intRange(0, 25_000)
          .default(30)
          .describe(
            'Days `header_batches` rows are kept (one per consumed header batch; `sensor-health` counts received batches since each agent started, so keep at least an agent uptime).',
          ),
        rollups: intRange(0, 25_000)
          .optional()
          .describe(
            'Days rollup rows are kept; unset: as `rst_events`. Longer keeps fleet-wide counts (`top-causes`) of RSTs whose rows (`top-reset-senders`) are gone.',
          ),
        alerts: intRange(0, 25_000)
          .default(365)
          .describe(
            'Days `alerts` rows are kept (`alert_events`, the links to the RST events, follow `rst_events`).',
          ),
      },
      'Retention per table (ClickHouse TTL), in days, counted from when a row was stored (not its capture time: an old capture stored today is kept the whole retention); 0 keeps rows forever. At most 25000: longer would overflow ClickHouse DateTime and expire every row at once.',
    ),
    writer: section(
      {
        maxRows: posInt()
          .default(50000)
          .describe('Rows per insert at most; a full buffer is flushed at once.'),
        flushMs: duration('ms', 1).default(1000).describe('Longest time rows wait before they are inserted.'),
        retryMaxMs: duration('ms', 1)
          .default(60000)
          .describe('Cap of the exponential backoff between insert retries.'),
      },
      'Batched inserts.',
    ),
  },
  'ClickHouse, embedded or server.',
);

/** The whole configuration file. */
export const configSchema = z.strictObject({
  sensor,
  log,
  metrics,
  kafka,
  agent,
  processor,
  classifier,
  alerts,
  clickhouse,
});

/** The validated configuration, every default filled in. */
export type Config = z.output<typeof configSchema>;

/** Config with every field optional at every level (file contents, CLI overrides). */
export type DeepPartial<T> = T extends readonly (infer U)[]
  ? readonly U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;
