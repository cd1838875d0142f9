// docs/alerts.md stays in sync with the code it documents: every ECS field of `ECS_FIELDS`, every
// rule, the SD-ID and the webhook headers are named on the page.
import { readFileSync } from 'node:fs';
import { ALERT_RULES } from '@rstwatch/detect';
import { describe, expect, it } from 'vitest';
import { ECS_FIELDS } from './format/ecs.js';
import { SD_ID } from './format/rfc5424.js';

const doc = readFileSync(new URL('../../../docs/alerts.md', import.meta.url), 'utf8');

/** The ECS field table of docs/alerts.md: the first cell of each row, without backticks. */
function ecsTableNames(): string[] {
  const start = doc.indexOf('| ECS field | from alert field | meaning |');
  expect(start, 'docs/alerts.md has the ECS field table').toBeGreaterThanOrEqual(0);
  const names: string[] = [];
  for (const line of doc.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    names.push(line.split('|')[1]!.trim().replaceAll('`', ''));
  }
  return names;
}

describe('docs/alerts.md', () => {
  it('names every ECS field of ECS_FIELDS, in its ECS table, in the same order', () => {
    for (const f of ECS_FIELDS) expect(doc, `${f.ecs} missing from docs/alerts.md`).toContain(`\`${f.ecs}\``);
    expect(ecsTableNames()).toEqual(ECS_FIELDS.map((f) => f.ecs));
  });

  it('documents every rule in its own section', () => {
    for (const rule of ALERT_RULES) expect(doc).toContain(`### \`${rule}\``);
  });

  it('names the syslog SD-ID and the webhook headers', () => {
    expect(doc).toContain(SD_ID);
    for (const h of [
      'X-Rstwatch-Signature',
      'X-Rstwatch-Alert-Id',
      'X-Rstwatch-Alert-Version',
      'Idempotency-Key',
    ]) {
      expect(doc).toContain(h);
    }
  });
});
