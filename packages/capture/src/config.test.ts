import { loadConfig } from '@rstwatch/config';
import { describe, expect, it } from 'vitest';
import { captureConfigFrom, createSource } from './config.js';
import { FileSource } from './file.js';
import { DEFAULT_BPF, TcpdumpSource } from './tcpdump.js';

describe('createSource', () => {
  it('needs exactly one of iface and pcap', () => {
    expect(() => createSource({})).toThrow(/exactly one of agent.iface/);
    expect(() => createSource({ iface: 'eth0', pcap: 'x.pcap' })).toThrow(/exactly one of agent.iface/);
  });

  it('builds a file source for pcap and a tcpdump source for iface', () => {
    const file = createSource({ pcap: '/tmp/x.pcap' });
    expect(file).toBeInstanceOf(FileSource);
    expect(file.live).toBe(false);
    // Paced replay behaves as a live source (drops rather than waits).
    expect(createSource({ pcap: '/tmp/x.pcap', replaySpeed: '10x' }).live).toBe(true);
    const live = createSource({ iface: 'eth0' });
    expect(live).toBeInstanceOf(TcpdumpSource);
    expect(live.live).toBe(true);
    expect(live.describe).toContain('eth0');
  });
});

describe('captureConfigFrom', () => {
  it('takes the capture keys of the agent section with their defaults', () => {
    const cfg = loadConfig({ env: {} });
    expect(captureConfigFrom({ ...cfg.agent, iface: 'eth1' })).toEqual({
      iface: 'eth1',
      pcap: undefined,
      bpf: DEFAULT_BPF,
      snaplen: 256,
      replaySpeed: 'max',
    });
  });
});
