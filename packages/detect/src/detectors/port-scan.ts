/**
 * `port_scan`: one scanner probing many ports of a host (vertical, `classifier.scanMinPorts` distinct
 * ports) or many hosts on one port (horizontal, `port_scan.minHosts` distinct hosts) within
 * `classifier.scanWindowS`. Seen through `syn_scan` and `connect_scan` RSTs (the scanner's own: it is
 * the sender, the probed host:port the receiver) and `closed_port` RSTs (the probed host answering: it
 * is the sender, the scanner the receiver).
 */
import type { RstEvent } from '@rstwatch/core';
import { S } from '../config.js';
import type { Episode } from '../episode.js';
import { scannerOf } from '../keys.js';
import { type Hit, hitOf, topCounts } from '../window.js';
import { type Description, Detector, type DetectorContext, type EntityState } from './base.js';

/** Hosts (or ports) whose probes are tracked per scanner before it fires; the least recent go first. */
const MAX_TRACKED = 1024;

interface State extends EntityState {
  /** Probed host → port → first probe in the window; and port → host → first probe. */
  byHost: Map<string, Map<number, Hit>>;
  byPort: Map<number, Map<string, Hit>>;
}

const PROBE_NAMES: Record<string, string> = {
  syn_scan: 'syn',
  connect_scan: 'connect',
  closed_port: 'closed_port',
};

export class PortScanDetector extends Detector<State> {
  readonly rule = 'port_scan' as const;
  readonly kind = 'scanner' as const;
  private readonly minPorts: number;
  private readonly minHosts: number;
  private readonly windowUs: number;

  constructor(ctx: DetectorContext) {
    super(ctx);
    this.minPorts = ctx.classifier.scanMinPorts;
    this.minHosts = ctx.config.port_scan.minHosts;
    this.windowUs = ctx.classifier.scanWindowS * S;
  }

  keyOf(e: RstEvent): string | undefined {
    return scannerOf(e);
  }

  protected newState(): State {
    return { ep: undefined, byHost: new Map(), byPort: new Map() };
  }

  observe(e: RstEvent, us: number, scanner: string): void {
    if (scannerOf(e) === undefined) return;
    const h = hitOf(e, us);
    const closed = e.cause === 'closed_port';
    h.source = scanner;
    h.peer = closed ? e.src_ip : e.dst_ip;
    h.port = closed ? e.src_port : e.dst_port;
    h.note = e.cause;
    const st = this.state(scanner);
    const ep = this.current(st);
    if (ep !== undefined) {
      this.contribute(ep, h);
      return;
    }
    const ports = this.touch(st.byHost, h.peer, h.port, h, this.minPorts);
    const hosts = this.touch(st.byPort, h.port, h.peer, h, this.minHosts);
    const vertical = ports.size >= this.minPorts;
    const horizontal = hosts.size >= this.minHosts;
    if (!vertical && !horizontal) return;
    // every probe of the window contributes (also those to other hosts and ports)
    const hits = new Set<Hit>();
    for (const inner of st.byHost.values()) for (const x of inner.values()) hits.add(x);
    for (const inner of st.byPort.values()) for (const x of inner.values()) hits.add(x);
    st.byHost.clear();
    st.byPort.clear();
    const scanType = vertical && horizontal ? 'vertical+horizontal' : vertical ? 'vertical' : 'horizontal';
    this.raise(scanner, st, [...hits], { scan_type: scanType });
  }

  /** Record the first probe of (k1, k2) in the window; returns k1's map after expiring old probes. */
  private touch<A, B>(outer: Map<A, Map<B, Hit>>, k1: A, k2: B, h: Hit, need: number): Map<B, Hit> {
    let inner = outer.get(k1);
    if (inner === undefined) {
      inner = new Map();
      if (outer.size >= MAX_TRACKED) outer.delete(outer.keys().next().value as A);
    } else outer.delete(k1);
    outer.set(k1, inner);
    for (const [k, x] of inner) {
      if (x.us >= h.us - this.windowUs) break;
      inner.delete(k);
    }
    const old = inner.get(k2);
    if (old === undefined || old.us < h.us - this.windowUs) {
      inner.delete(k2);
      inner.set(k2, h);
      if (inner.size > 4 * need) inner.delete(inner.keys().next().value as B);
    }
    return inner;
  }

  protected describe(ep: Episode): Description {
    const ports = topCounts(ep.ports, 100)
      .map((p) => p[0])
      .sort((a, b) => a - b);
    const hosts = ep.peers.sorted();
    const probes = topCounts(ep.notes, 3);
    const mix = probes
      .map((p) => PROBE_NAMES[p[0]] ?? p[0])
      .sort()
      .join('+');
    const scanType = String(ep.info.scan_type);
    const nPorts = ep.ports.size;
    const nHosts = ep.distinctPeers.size;
    const details: Description['details'] = {
      scan_type: scanType,
      probe_mix: mix,
      distinct_ports: nPorts,
      distinct_hosts: nHosts,
      ports,
      hosts,
      window_s: this.windowUs / S,
    };
    const evidence = [
      `rsts=${ep.count}`,
      `window_s=${this.windowUs / S}`,
      `ports=${nPorts}`,
      `hosts=${nHosts}`,
    ];
    for (const [cause, n] of probes) {
      evidence.push(`${cause}=${n}`);
      details[`${cause}_rsts`] = n;
    }
    const vertical = scanType.startsWith('vertical');
    // the most probed host and port (ties: the smallest), whatever order the probes came in
    const host = topCounts(ep.distinctPeers, 1)[0]![0];
    const port = topCounts(ep.ports, 1)[0]![0];
    const target = vertical ? host : `port ${port} on ${nHosts} hosts`;
    return {
      summary: `${ep.entity} scanned ${vertical ? `${nPorts} ports of ${target}` : target} (${scanType} ${mix} scan, ${ep.count} RSTs)`,
      evidence,
      details,
      destination_ip: host,
      destination_port: nPorts === 1 || !vertical ? port : 0,
    };
  }
}
