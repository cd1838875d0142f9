/** Helpers for this package's tests: one embedded engine per test process, a fresh database per test, fixtures. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowRecord, RstEvent } from '@rstwatch/core';
import { formatTsUs } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import { createClickHouse, type StoreClient } from '../client.js';
import type { AlertLink, SensorStatsRow } from '../schema.js';

let dir: string | undefined;

/** A client on this process's embedded engine (chdb allows one data dir per process) and a fresh database. */
export function testClient(database = `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`): StoreClient {
  if (!dir) {
    const d = mkdtempSync(join(tmpdir(), 'rstwatch-store-'));
    dir = d;
    process.once('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  return createClickHouse({ url: 'embedded', embeddedPath: dir, database });
}

/** Timestamp `secondsAgo` before now, RFC 3339 with microseconds. */
export function tsAgo(secondsAgo: number, us = 123_456): string {
  const base = Math.floor(Date.now() / 1000 - secondsAgo) * 1_000_000;
  return formatTsUs(base + us);
}

export function event(over: Partial<RstEvent> = {}): RstEvent {
  return {
    ts: tsAgo(60),
    sensor: 'sensor-a',
    community_id: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
    src_ip: '10.0.0.2',
    src_port: 443,
    dst_ip: '192.168.1.10',
    dst_port: 51234,
    direction: 'resp',
    cause: 'closed_port',
    origin: 'endpoint',
    phase: 'handshake',
    confidence: 0.95,
    flags: 'R.',
    seq: 0,
    ack: 4_294_967_295,
    ttl: 64,
    ttl_expected: 64,
    ip_id: 54_321,
    in_window: true,
    seq_exact: true,
    payload_len: 0,
    payload_preview: '',
    signature: 'SYN→RST+ACK',
    conn_state: 'REJ',
    history: 'Sr',
    evidence: ['syn_answered_by_rst', 'ttl_delta=0'],
    ...over,
  };
}

/** Events covering IPv4 and IPv6, nulls, empty and unicode strings, several causes and origins. */
export function sampleEvents(): RstEvent[] {
  return [
    event(),
    event({
      ts: tsAgo(120, 1),
      src_ip: '2001:db8::1',
      dst_ip: '2001:db8:0:1::42',
      src_port: 50_000,
      dst_port: 80,
      direction: 'orig',
      cause: 'injected_reset',
      origin: 'middlebox',
      phase: 'established',
      confidence: 0.8,
      flags: 'R',
      seq: 123_456_789,
      ack: 0,
      ttl: 58,
      ttl_expected: null,
      ip_id: null,
      in_window: null,
      seq_exact: null,
      payload_len: 17,
      payload_preview: 'Blocked "by" IPS\\x00',
      signature: 'PSH+ACK→RST;RST₀',
      conn_state: 'RSTO',
      history: 'ShADar',
      evidence: ['ttl_delta=6', 'no_ack_flag', 'data_after_rst', 'rst_with_payload'],
    }),
    event({
      ts: tsAgo(30, 999_999),
      src_ip: '203.0.113.66',
      dst_ip: '10.0.0.2',
      src_port: 33_000,
      dst_port: 22,
      direction: 'unknown',
      cause: 'reset_attack',
      origin: 'spoofed',
      phase: 'established',
      confidence: 0.7,
      in_window: false,
      seq_exact: false,
      ip_id: 0,
      ttl: 255,
      ttl_expected: 61,
      signature: 'other',
      conn_state: 'OTH',
      history: '',
      evidence: [],
    }),
  ];
}

export function flow(over: Partial<FlowRecord> = {}): FlowRecord {
  return {
    ts: tsAgo(90, 500),
    uid: 'CHhAvVGS1DHFjwGM9',
    'id.orig_h': '192.168.1.10',
    'id.orig_p': 51_234,
    'id.resp_h': '10.0.0.2',
    'id.resp_p': 443,
    proto: 'tcp',
    duration: 0.000_312,
    orig_bytes: 0,
    resp_bytes: 0,
    conn_state: 'REJ',
    history: 'Sr',
    orig_pkts: 1,
    orig_ip_bytes: 60,
    resp_pkts: 1,
    resp_ip_bytes: 40,
    community_id: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
    sensor: 'sensor-a',
    rst_count: 1,
    rst_cause: 'closed_port',
    rst_origin: 'endpoint',
    tunnel: null,
    duplicates: 0,
    reordered: 0,
    late: 0,
    one_sided: false,
    ...over,
  };
}

export function sampleFlows(): FlowRecord[] {
  return [
    flow(),
    flow({
      uid: 'C2',
      'id.orig_h': '2001:db8::1',
      'id.resp_h': '2001:db8:0:1::42',
      'id.orig_p': 50_000,
      'id.resp_p': 80,
      duration: 12.5,
      orig_bytes: 5_000_000_000,
      resp_bytes: 1234,
      conn_state: 'SF',
      history: 'ShADadFf',
      orig_pkts: 4_000_000,
      orig_ip_bytes: 5_200_000_000,
      resp_pkts: 10,
      resp_ip_bytes: 2000,
      rst_count: 0,
      rst_cause: null,
      rst_origin: null,
      tunnel: 'vxlan',
    }),
  ];
}

export function sensorStats(over: Partial<SensorStatsRow> = {}): SensorStatsRow {
  return {
    ts: tsAgo(300),
    sensor: 'sensor-a',
    agent_version: '0.1.0',
    uptime_ms: 60_000,
    packets: 1_000_000,
    tcp_headers: 900_000,
    kernel_drops: 100,
    kernel_if_drops: 0,
    parse_errors: { truncated_ip: 3 },
    batches: 900,
    bytes: 50_000_000,
    headers_sent: 899_000,
    send_failures: 0,
    agent_drops: { buffer_full: 1000 },
    last_batch_seq: 899,
    lost_batches: 0,
    agent_batch_drops: {},
    ...over,
  };
}

/** A `reset_attack` alert (version 1, open) with every field set; override what a test is about. */
export function alert(over: Partial<Alert> = {}): Alert {
  return {
    id: '0123456789abcdef0123456789abcdef',
    version: 1,
    rule: 'reset_attack',
    status: 'open',
    severity: 'high',
    severity_score: 73,
    summary: '42 forged RSTs aimed at 198.18.0.2:443 from 3 peers within 60 s',
    first_seen: tsAgo(600, 1),
    last_seen: tsAgo(540, 999_999),
    updated: tsAgo(540, 999_999),
    count: 42,
    entity_kind: 'victim',
    entity: '198.18.0.2',
    source_ips: ['2001:db8::7', '203.0.113.1', '203.0.113.2'],
    destination_ip: '198.18.0.2',
    destination_port: 443,
    sensors: ['sensor-a', 'sensor-b'],
    community_ids: ['1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '1:abc='],
    evidence: ['rsts=42', 'window_s=60', 'seq_in_window_not_exact=40'],
    details: { peers: 3, ports: [443], ratio: 0.95, scan_type: 'n/a', spoofed: true, hosts: ['a', 'b'] },
    ...over,
  };
}

/** A link from alert `alert_id` to the RST event `event(over)` would describe. */
export function alertLink(over: Partial<AlertLink> = {}): AlertLink {
  return {
    alert_id: '0123456789abcdef0123456789abcdef',
    rule: 'reset_attack',
    ts: tsAgo(60),
    community_id: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
    sensor: 'sensor-a',
    src_ip: '10.0.0.2',
    src_port: 443,
    dst_ip: '192.168.1.10',
    dst_port: 51234,
    ...over,
  };
}
