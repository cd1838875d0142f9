// The Prometheus rule files in infra/prometheus: valid for promtool, and the detection rules fire (and stay
// quiet) as their unit tests in rstwatch-detection-rules.test.yaml say. promtool comes from Debian's
// `prometheus` package (infra/test-prereqs.sh installs it).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../../infra/prometheus/', import.meta.url));
const promtool = (...args: string[]) =>
  execFileSync('promtool', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('infra/prometheus rules', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('-rules.yaml'));

  it('every rules file passes promtool check rules', () => {
    expect(files).toEqual(['rstwatch-detection-rules.yaml', 'rstwatch-rules.yaml']);
    const out = promtool('check', 'rules', ...files);
    expect(out).toContain('SUCCESS: 10 rules found');
    expect(out).toContain('SUCCESS: 16 rules found');
  });

  it('the detection rules pass their promtool unit tests', () => {
    expect(promtool('test', 'rules', 'rstwatch-detection-rules.test.yaml')).toContain('SUCCESS');
  });

  it('every metric the detection rules use is documented in docs/metrics.md', () => {
    const rules = readFileSync(`${dir}rstwatch-detection-rules.yaml`, 'utf8');
    const docs = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const used = [...new Set(rules.match(/rstwatch_[a-z_]+/g))];
    expect(used.length).toBeGreaterThan(8);
    // The processor's section lists its older metrics without the prefix (`rst_events_total`).
    const documented = (m: string) =>
      docs.includes(m) || docs.includes(`\`${m.replace(/^rstwatch_processor_/, '')}\``);
    for (const m of used) expect(documented(m), m).toBe(true);
  });
});
