// The checker itself, on a made-up repository: each rule fails on the import that breaks it.
import { describe, expect, it } from 'vitest';
import {
  checkArchitecture,
  importsOf,
  type Manifest,
  parseArchitectureDoc,
  type SourceFile,
} from './check.js';

const doc = `
# Whiteboard

| Unit | Path | Job | May import |
| --- | --- | --- | --- |
| core | \`packages/core\` | contract | — |
| engine | \`packages/engine\` | the engine | core |
| config | \`packages/config\` | schema | engine/defaults |
| kafka | \`packages/kafka\` | Kafka | config |
| agent | \`services/agent\` | capture to Kafka | core, kafka |
| cli | \`services/cli\` | command | agent, core |

| Third-party package | Only in |
| --- | --- |
| \`kafkajs\` | kafka |
`;

const manifest = (unit: string, deps: string[], exports = ['.']): Manifest => ({
  unit,
  name: `@x/${unit}`,
  dependencies: Object.fromEntries(deps.map((d) => [d, '*'])),
  exports,
});
const manifests = [
  manifest('core', []),
  manifest('engine', ['@x/core'], ['.', './defaults']),
  manifest('config', ['@x/engine', 'zod']),
  manifest('kafka', ['@x/config', 'kafkajs']),
  manifest('agent', ['@x/core', '@x/kafka']),
  manifest('cli', ['@x/agent', '@x/core']),
];
const dirOf: Record<string, string> = { agent: 'services/agent', cli: 'services/cli' };
const file = (unit: string, text: string, name = 'a.ts'): SourceFile => ({
  unit,
  path: `${dirOf[unit] ?? `packages/${unit}`}/src/${name}`,
  text,
});
const rules = parseArchitectureDoc(doc);
const check = (files: SourceFile[], ms = manifests) =>
  checkArchitecture(rules, files, ms).map((v) => v.replace(/^[^:]+:\d+: /, ''));

describe('parseArchitectureDoc', () => {
  it('reads units, arrows and confined packages from the tables', () => {
    expect([...rules.units.keys()]).toEqual(['core', 'engine', 'config', 'kafka', 'agent', 'cli']);
    expect(rules.units.get('agent')).toMatchObject({ kind: 'service', mayImport: ['core', 'kafka'] });
    expect(rules.units.get('core')!.mayImport).toEqual([]);
    expect(rules.confined.get('kafkajs')).toEqual(new Set(['kafka']));
  });

  it('rejects a table in which a library may import a service, or the arrows cycle', () => {
    expect(() =>
      parseArchitectureDoc(
        doc.replace(
          '| engine | `packages/engine` | the engine | core |',
          '| engine | `packages/engine` | the engine | core, agent |',
        ),
      ),
    ).toThrow(/library engine may not import service agent/);
    expect(() => parseArchitectureDoc(doc.replace('| contract | — |', '| contract | kafka |'))).toThrow(
      /cycle: core -> kafka -> config -> engine -> core/,
    );
    expect(() => parseArchitectureDoc('no tables')).toThrow(/no table/);
  });
});

describe('importsOf', () => {
  it('finds static, type, re-export, dynamic, require and import-type specifiers, not comments or strings', () => {
    const refs = importsOf(
      'x.ts',
      [
        "import { a } from '@x/core';",
        "import type { B } from '@x/engine';",
        "export { c } from './c.js';",
        "export * from '@x/kafka';",
        "const m = await import('@x/agent');",
        "const r = require('chdb/connection') as typeof import('chdb/connection');",
        "// import { no } from '@x/cli';",
        'const s = "import(\'@x/cli\')";',
        'const d = await import(name);',
      ].join('\n'),
    );
    expect(refs.map((r) => `${r.line} ${r.form} ${r.specifier}`)).toEqual([
      '1 import @x/core',
      '2 import @x/engine',
      '3 export-from ./c.js',
      '4 export-from @x/kafka',
      '5 dynamic @x/agent',
      '6 require chdb/connection',
      '6 type chdb/connection',
      '9 dynamic <non-literal>',
    ]);
  });
});

describe('checkArchitecture', () => {
  it('passes code that keeps to the arrows', () => {
    const files = [
      file(
        'engine',
        "import { K } from '@x/core';\nimport { x } from './internal/x.js';\nimport { readFileSync } from 'node:fs';\nimport 'fs';",
      ),
      file('config', "import { DEFAULTS } from '@x/engine/defaults';\nimport { z } from 'zod';"),
      file('kafka', "import type { Config } from '@x/config';\nimport { Kafka } from 'kafkajs';"),
      file('agent', "import { produce } from '@x/kafka';"),
      file('cli', "const { run } = await import('@x/agent');"),
    ];
    expect(check(files)).toEqual([]);
  });

  it('fails a library importing a service, in any import form', () => {
    expect(check([file('core', "const a = await import('@x/agent');")])).toEqual([
      'library core imports service agent (@x/agent)',
      '@x/agent is not in the dependencies of @x/core',
    ]);
    expect(check([file('kafka', "export { runAgent } from '@x/agent';")])).toContain(
      'library kafka imports service agent (@x/agent)',
    );
  });

  it('fails an arrow missing from the table (a service reaching into a service, a skipped layer)', () => {
    const ms = manifests.map((m) =>
      m.unit === 'agent' ? manifest('agent', ['@x/core', '@x/kafka', '@x/cli', '@x/engine']) : m,
    );
    expect(
      check([file('agent', "import { x } from '@x/cli';\nimport type { E } from '@x/engine';")], ms),
    ).toEqual([
      'agent -> cli (@x/cli) is not an allowed arrow',
      'agent -> engine (@x/engine) is not an allowed arrow',
      'services/agent/package.json: dependency agent -> cli is not an allowed arrow',
      'services/agent/package.json: dependency agent -> engine is not an allowed arrow',
    ]);
  });

  it('allows only the named export when the arrow names one', () => {
    expect(check([file('config', "import { Engine } from '@x/engine';")])).toEqual([
      'config -> engine (@x/engine) is not an allowed arrow',
    ]);
  });

  it('fails a confined third-party package outside its unit, in code or in package.json', () => {
    const ms = manifests.map((m) =>
      m.unit === 'agent' ? manifest('agent', ['@x/core', '@x/kafka', 'kafkajs']) : m,
    );
    expect(check([file('agent', "import { Kafka } from 'kafkajs';")], ms)).toEqual([
      'kafkajs may only be imported by kafka, not agent',
      'services/agent/package.json: kafkajs may only be a dependency of kafka',
    ]);
  });

  it('fails deep imports, relative escapes, unknown workspace names and undeclared dependencies', () => {
    expect(
      check([
        file('engine', "import { x } from '@x/core/src/internal/x.js';"),
        file('engine', "import { y } from '../../core/src/y.js';", 'b.ts'),
        file('engine', "import { z } from '@x/nowhere';", 'c.ts'),
        file('engine', "import { w } from 'left-pad';", 'd.ts'),
        file('engine', 'const m = await import(name);', 'e.ts'),
      ]),
    ).toEqual([
      '@x/core/src/internal/x.js: ./src/internal/x.js is not in the exports of @x/core',
      'relative import ../../core/src/y.js leaves packages/engine; import the package by name',
      '@x/nowhere is no package of this repository',
      'left-pad is not in the dependencies of @x/engine',
      'dynamic with a computed specifier cannot be checked',
    ]);
  });

  it('fails a unit missing from the table and a row without a package', () => {
    const ms = [...manifests.filter((m) => m.unit !== 'cli'), manifest('extra', [])];
    expect(check([], ms)).toEqual([
      'extra (@x/extra) is missing from docs/architecture.md',
      'docs/architecture.md lists cli, which has no services/cli/package.json',
    ]);
  });
});
