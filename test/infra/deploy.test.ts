// The deployment files, checked with the real tools built from their Go modules (infra/check-deploy.sh):
// the Helm chart with `helm lint` / `helm template`, the compose file with compose-spec's loader. A broken
// compose file must fail the checker (so a pass means something).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const infra = fileURLToPath(new URL('../../infra/', import.meta.url));

describe('deployment files', () => {
  it('helm lint/template and the compose loader accept infra/helm and infra/compose', () => {
    const out = execFileSync('bash', [join(infra, 'check-deploy.sh')], {
      encoding: 'utf8',
      timeout: 900_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(out).toMatch(/services: .*\bdetect\b.*\bprocessor\b/);
    expect(out).toContain('check-deploy: ok');
  }, 900_000);

  it('the compose checker rejects an invalid compose file, naming the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rstwatch-compose-'));
    const good = readFileSync(join(infra, 'compose/docker-compose.yml'), 'utf8');
    const bad = join(dir, 'docker-compose.yml');
    writeFileSync(bad, good.replace(/^services:\n/m, 'services:\n  bogus:\n    imagee: x\n'));
    const r = spawnSync(join(infra, '.tools/bin/composecheck'), [bad], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Additional property imagee is not allowed');
  });
});
