import { EVIDENCE_NAMES } from '@rstwatch/classify';
import { describe, expect, it } from 'vitest';
import { evidenceWords } from './evidence.js';

describe('evidence in words', () => {
  it('has words for every evidence name the classifier can give', () => {
    for (const name of EVIDENCE_NAMES) {
      const ev = name.endsWith('=') ? `${name}3` : name;
      expect(evidenceWords(ev), name).not.toBe(ev);
      if (name.endsWith('=')) expect(evidenceWords(ev), name).toContain('3');
    }
  });

  it('says a RST with a bad checksum reset nothing', () => {
    expect(evidenceWords('bad_checksum')).toMatch(/checksum is wrong/);
    expect(evidenceWords('bad_checksum')).toMatch(/reset nothing/);
  });

  it('returns unknown names as they are', () => {
    expect(evidenceWords('something_new')).toBe('something_new');
    expect(evidenceWords('something_new=4')).toBe('something_new=4');
  });
});
