import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));

describe('generated code', () => {
  it('is up to date with proto/rstwatch/v1 (run `pnpm --filter @rstwatch/wire gen` and commit)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rstwatch-wire-gen-'));
    try {
      execFileSync(process.execPath, [join(pkg, 'scripts', 'gen.mjs'), dir], { stdio: 'pipe' });
      for (const f of ['rstwatch.js', 'rstwatch.d.ts']) {
        const fresh = readFileSync(join(dir, f), 'utf8');
        expect(readFileSync(join(pkg, 'src', 'generated', f), 'utf8') === fresh, f).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
