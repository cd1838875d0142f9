/** Test helpers: an in-memory producer that can be switched "down", for the agent's and others' tests. */
import { HeaderColumns } from '@rstwatch/core';
import type { AgentProducer } from './agent.js';
import type { OutMessage } from './sender.js';

export interface RecordedMessage extends OutMessage {
  topic: string;
}

/** Records what it is sent; `down = true` makes `send` fail like an unreachable broker. */
export class FakeProducer implements AgentProducer {
  readonly sent: RecordedMessage[] = [];
  down = false;
  failures = 0;
  /** Artificial latency per send, ms. */
  delayMs = 0;
  constructor(readonly partitionCount = 4) {}

  async partitionsFor(): Promise<number> {
    return this.partitionCount;
  }

  async send(topic: string, messages: OutMessage[]): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.down) {
      this.failures++;
      throw new Error('broker unavailable (fake)');
    }
    for (const m of messages) this.sent.push({ topic, ...m });
  }

  /** Messages sent to `topic`. */
  on(topic: string): RecordedMessage[] {
    return this.sent.filter((m) => m.topic === topic);
  }
}

/**
 * Headers for IPv4 flows 198.18.x.y:sport -> 198.18.z.w:dport (`src`/`dst` = the low 16 bits),
 * `seq` = index, for batcher/agent tests.
 */
export function makeHeaders(
  specs: { src: number; dst: number; sport: number; dport: number; ts?: number; rst?: number }[],
): HeaderColumns {
  const c = HeaderColumns.allocate(Math.max(1, specs.length));
  specs.forEach((s, i) => {
    const put = (a: Uint8Array, v: number) => {
      const o = i * 16;
      a[o + 10] = 0xff;
      a[o + 11] = 0xff;
      a[o + 12] = 198;
      a[o + 13] = 18;
      a[o + 14] = (v >> 8) & 0xff;
      a[o + 15] = v & 0xff;
    };
    put(c.srcAddr, s.src);
    put(c.dstAddr, s.dst);
    c.srcPort[i] = s.sport;
    c.dstPort[i] = s.dport;
    c.ipVersion[i] = 4;
    c.seq[i] = i;
    c.tsUs[i] = s.ts ?? 1_700_000_000_000_000 + i;
    c.rstPayloadLen[i] = s.rst ?? 0;
    c.length = i + 1;
  });
  return c;
}
