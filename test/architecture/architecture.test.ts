// docs/architecture.md against the code: every import and dependency of packages/* and services/* must be
// an arrow of the doc's table. A failure names the file, the line and the arrow.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkArchitecture, parseArchitectureDoc, readRepository } from './check.js';

const root = join(import.meta.dirname, '..', '..');
const rules = parseArchitectureDoc(readFileSync(join(root, 'docs', 'architecture.md'), 'utf8'));
const repo = readRepository(root);

describe('docs/architecture.md', () => {
  it('lists every package and service, and the code keeps to its arrows', () => {
    expect(repo.files.length).toBeGreaterThan(100);
    expect(checkArchitecture(rules, repo.files, repo.manifests)).toEqual([]);
  });

  it('a forbidden import added to the real code fails the check', () => {
    const planted = {
      unit: 'processor',
      path: 'services/processor/src/planted.ts',
      text: "import { runAgent } from '@rstwatch/agent';\n",
    };
    expect(checkArchitecture(rules, [...repo.files, planted], repo.manifests)).toEqual([
      'services/processor/src/planted.ts:1: processor -> agent (@rstwatch/agent) is not an allowed arrow',
      'services/processor/src/planted.ts:1: @rstwatch/agent is not in the dependencies of @rstwatch/processor',
    ]);
  });
});
