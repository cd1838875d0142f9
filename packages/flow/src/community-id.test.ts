import { parseAddr } from '@rstwatch/core';
import { describe, expect, it } from 'vitest';
import { communityId } from './community-id.js';

describe('communityId (v1)', () => {
  const a = parseAddr('128.232.110.120');
  const b = parseAddr('66.35.250.204');

  it('matches the Community ID spec test vector for TCP, seed 0', () => {
    expect(communityId(a, 0, 34855, b, 0, 80)).toBe('1:LQU9qZlK+B5F3KDmev6m5PMibrg=');
  });

  it('matches the spec test vector with seed 1', () => {
    expect(communityId(a, 0, 34855, b, 0, 80, 1)).toBe('1:3V71V58M3Ksw/yuFALMcW0LAHvc=');
  });

  it('is direction-free', () => {
    expect(communityId(b, 0, 80, a, 0, 34855)).toBe(communityId(a, 0, 34855, b, 0, 80));
  });

  it('orders equal addresses by port and distinguishes ports', () => {
    const x = parseAddr('10.0.0.1');
    expect(communityId(x, 0, 1000, x, 0, 80)).toBe(communityId(x, 0, 80, x, 0, 1000));
    expect(communityId(a, 0, 34856, b, 0, 80)).not.toBe(communityId(a, 0, 34855, b, 0, 80));
  });

  it('hashes IPv6 with full 16-byte addresses (differs from a v4-mapped reading)', () => {
    const c = parseAddr('2001:db8::1');
    const d = parseAddr('2001:db8::2');
    const id = communityId(c, 0, 1234, d, 0, 443);
    expect(id).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
    expect(id).toBe(communityId(d, 0, 443, c, 0, 1234));
  });
});

describe('formatTs', () => {
  it('matches core formatTsUs, across second boundaries', async () => {
    const { formatTsUs } = await import('@rstwatch/core');
    const { formatTs } = await import('./time.js');
    for (const t of [
      1_700_000_000_000_000, 1_700_000_000_999_999, 1_700_000_001_000_000, 1_700_000_001_000_001, 0, 123_456,
    ]) {
      expect(formatTs(t)).toBe(formatTsUs(t));
    }
  });
});
