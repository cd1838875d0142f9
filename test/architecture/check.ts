/**
 * The import rules of docs/architecture.md, checked against the code. The rules are parsed from the
 * doc's two tables (units and their allowed arrows; confined third-party packages), so the doc and
 * the check cannot drift. `checkArchitecture` is pure (a file list in, violations out) so that its own
 * tests can feed it fake files; `readRepository` reads the real ones.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, normalize, relative, sep } from 'node:path';
import ts from 'typescript';

/** A package under packages/ (library) or a process under services/ (service). */
export interface Unit {
  /** Short name used in the doc: the folder name (`core`, `agent`). */
  name: string;
  /** Folder relative to the repository root, `packages/core`. */
  dir: string;
  kind: 'library' | 'service';
  job: string;
  /** Short names, or `name/subpath` for one export only (`classify/config`). */
  mayImport: string[];
}

export interface ArchitectureRules {
  units: Map<string, Unit>;
  /** Third-party package -> the only units that may import it. */
  confined: Map<string, Set<string>>;
}

/** One source file of a unit (tests excluded). */
export interface SourceFile {
  unit: string;
  /** Relative to the repository root. */
  path: string;
  text: string;
}

/** What the check needs from a unit's package.json. */
export interface Manifest {
  unit: string;
  name: string;
  dependencies: Record<string, string>;
  /** Subpaths of the `exports` map (`.`, `./testing`). */
  exports: string[];
}

export interface ImportRef {
  specifier: string;
  line: number;
  form: 'import' | 'export-from' | 'dynamic' | 'require' | 'type';
}

const UNITS_HEADER = ['unit', 'path', 'job', 'may import'];
const CONFINED_HEADER = ['third-party package', 'only in'];

/** Rows of every Markdown table whose header cells equal `header` (case-insensitive). */
function tableRows(markdown: string, header: string[]): string[][] {
  const rows: string[][] = [];
  const lines = markdown.split('\n');
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => c.trim());
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.trim().startsWith('|')) continue;
    const head = cells(lines[i]!).map((c) => c.toLowerCase());
    if (head.join('|') !== header.join('|')) continue;
    for (let j = i + 2; j < lines.length && lines[j]!.trim().startsWith('|'); j++)
      rows.push(cells(lines[j]!));
  }
  return rows;
}

/** `a`, `b/c` from "`a`, `b/c`"; a dash or empty cell is an empty list. */
function nameList(cell: string): string[] {
  return cell
    .replace(/`/g, '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '—' && s !== '-');
}

/**
 * Parses the rules from docs/architecture.md. Throws when the tables are missing or contradict the
 * rules that hold whatever the table says: libraries never import services, the arrows are acyclic.
 */
export function parseArchitectureDoc(markdown: string): ArchitectureRules {
  const units = new Map<string, Unit>();
  for (const r of tableRows(markdown, UNITS_HEADER)) {
    const [name, dir, job, may] = [r[0]!.replace(/`/g, ''), r[1]!.replace(/`/g, ''), r[2]!, r[3]!];
    const kind = dir.startsWith('packages/')
      ? 'library'
      : dir.startsWith('services/')
        ? 'service'
        : undefined;
    if (!kind)
      throw new Error(`docs/architecture.md: unit ${name}: path ${dir} is not under packages/ or services/`);
    units.set(name, { name, dir, kind, job, mayImport: nameList(may) });
  }
  if (units.size === 0)
    throw new Error(`docs/architecture.md: no table with columns ${UNITS_HEADER.join(' | ')}`);
  const confined = new Map<string, Set<string>>();
  for (const r of tableRows(markdown, CONFINED_HEADER)) {
    const only = new Set(nameList(r[1]!));
    for (const pkg of nameList(r[0]!)) confined.set(pkg, only);
  }
  if (confined.size === 0)
    throw new Error(`docs/architecture.md: no table with columns ${CONFINED_HEADER.join(' | ')}`);

  for (const u of units.values()) {
    for (const target of u.mayImport) {
      const t = units.get(target.split('/')[0]!);
      if (!t) throw new Error(`docs/architecture.md: ${u.name} may import unknown unit ${target}`);
      if (u.kind === 'library' && t.kind === 'service') {
        throw new Error(`docs/architecture.md: library ${u.name} may not import service ${t.name}`);
      }
    }
  }
  for (const [pkg, only] of confined) {
    for (const n of only)
      if (!units.has(n)) throw new Error(`docs/architecture.md: ${pkg} confined to unknown unit ${n}`);
  }
  const cycle = findCycle(units);
  if (cycle) throw new Error(`docs/architecture.md: the arrows have a cycle: ${cycle.join(' -> ')}`);
  return { units, confined };
}

function findCycle(units: Map<string, Unit>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const t of units.get(n)!.mayImport) {
      const c = visit(t.split('/')[0]!);
      if (c) return c;
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of units.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

/** Every module specifier of a file: static imports, `export … from`, `import()`, `require()`, `import('x')` types. */
export function importsOf(path: string, text: string): ImportRef[] {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const out: ImportRef[] = [];
  const add = (node: ts.Node, arg: ts.Node | undefined, form: ImportRef['form']) => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    // A specifier that is not a literal cannot be checked: report it as such.
    const specifier = arg && ts.isStringLiteralLike(arg) ? arg.text : '<non-literal>';
    out.push({ specifier, line, form });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) add(node, node.moduleSpecifier, 'import');
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier)
      add(node, node.moduleSpecifier, 'export-from');
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, 'require');
    } else if (ts.isImportTypeNode(node)) {
      const lit = ts.isLiteralTypeNode(node.argument) ? node.argument.literal : undefined;
      add(node, lit, 'type');
    } else if (ts.isCallExpression(node)) {
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node, node.arguments[0], 'dynamic');
      else if (ts.isIdentifier(node.expression) && node.expression.text === 'require') {
        add(node, node.arguments[0], 'require');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const builtins = new Set(builtinModules);

/** `@scope/name` or `name` of a bare specifier, and the subpath after it (`.` for none). */
function splitSpecifier(spec: string): { pkg: string; subpath: string } {
  const parts = spec.split('/');
  const n = spec.startsWith('@') ? 2 : 1;
  const rest = parts.slice(n).join('/');
  return { pkg: parts.slice(0, n).join('/'), subpath: rest ? `./${rest}` : '.' };
}

/** Violations of the rules by `files` and `manifests`; empty when the code keeps to the doc. */
export function checkArchitecture(
  rules: ArchitectureRules,
  files: SourceFile[],
  manifests: Manifest[],
): string[] {
  const violations: string[] = [];
  const byName = new Map(manifests.map((m) => [m.name, m]));
  // The workspace's npm scopes (`@rstwatch/`): a name in them that is no unit is a typo or a removed package.
  const scopes = new Set(
    manifests.filter((m) => m.name.startsWith('@')).map((m) => `${m.name.split('/')[0]}/`),
  );
  const manifestOf = new Map(manifests.map((m) => [m.unit, m]));
  const unitOfPackage = (pkg: string) => {
    const m = byName.get(pkg);
    return m ? rules.units.get(m.unit) : undefined;
  };
  const allows = (from: Unit, to: Unit, subpath: string) =>
    from.mayImport.some((a) => a === to.name || a === `${to.name}${subpath === '.' ? '' : subpath.slice(1)}`);

  for (const m of manifests) {
    if (!rules.units.has(m.unit))
      violations.push(`${m.unit} (${m.name}) is missing from docs/architecture.md`);
  }
  for (const u of rules.units.values()) {
    if (!manifestOf.has(u.name))
      violations.push(`docs/architecture.md lists ${u.name}, which has no ${u.dir}/package.json`);
  }

  for (const f of files) {
    const from = rules.units.get(f.unit);
    if (!from) continue;
    const manifest = manifestOf.get(f.unit);
    for (const ref of importsOf(f.path, f.text)) {
      const at = `${f.path}:${ref.line}`;
      const spec = ref.specifier;
      if (spec === '<non-literal>') {
        violations.push(`${at}: ${ref.form} with a computed specifier cannot be checked`);
        continue;
      }
      if (spec.startsWith('#')) continue; // the package's own `imports` map
      if (spec.startsWith('.')) {
        const target = normalize(join(dirname(f.path), spec));
        if (relative(from.dir, target).startsWith('..')) {
          violations.push(`${at}: relative import ${spec} leaves ${from.dir}; import the package by name`);
        }
        continue;
      }
      const { pkg, subpath } = splitSpecifier(spec.startsWith('node:') ? spec.slice(5) : spec);
      if (spec.startsWith('node:') || builtins.has(pkg)) continue;
      const to = unitOfPackage(pkg);
      if (to) {
        if (to === from) continue;
        if (from.kind === 'library' && to.kind === 'service') {
          violations.push(`${at}: library ${from.name} imports service ${to.name} (${spec})`);
        } else if (!allows(from, to, subpath)) {
          violations.push(`${at}: ${from.name} -> ${to.name} (${spec}) is not an allowed arrow`);
        }
        const exp = manifestOf.get(to.name)!.exports;
        if (!exp.includes(subpath)) {
          violations.push(`${at}: ${spec}: ${subpath} is not in the exports of ${pkg}`);
        }
      } else if (scopes.has(`${pkg.split('/')[0]}/`)) {
        violations.push(`${at}: ${spec} is no package of this repository`);
        continue;
      } else {
        const only = rules.confined.get(pkg);
        if (only && !only.has(from.name)) {
          violations.push(`${at}: ${pkg} may only be imported by ${[...only].join(', ')}, not ${from.name}`);
        }
      }
      if (manifest && !(pkg in manifest.dependencies)) {
        violations.push(`${at}: ${spec} is not in the dependencies of ${manifest.name}`);
      }
    }
  }

  for (const m of manifests) {
    const from = rules.units.get(m.unit);
    if (!from) continue;
    for (const dep of Object.keys(m.dependencies)) {
      const to = unitOfPackage(dep);
      if (to && to !== from && !from.mayImport.some((a) => a.split('/')[0] === to.name)) {
        violations.push(
          `${from.dir}/package.json: dependency ${from.name} -> ${to.name} is not an allowed arrow`,
        );
      }
      const only = rules.confined.get(dep);
      if (only && !only.has(from.name)) {
        violations.push(
          `${from.dir}/package.json: ${dep} may only be a dependency of ${[...only].join(', ')}`,
        );
      }
    }
  }
  return violations;
}

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const TEST = /\.test\.[cm]?[jt]s$/;

/** The units' manifests and non-test sources under packages/* /src and services/* /src. */
export function readRepository(root: string): { files: SourceFile[]; manifests: Manifest[] } {
  const files: SourceFile[] = [];
  const manifests: Manifest[] = [];
  for (const group of ['packages', 'services']) {
    for (const name of readdirSync(join(root, group)).sort()) {
      const dir = `${group}/${name}`;
      const pj = join(root, dir, 'package.json');
      if (!existsSync(pj)) continue;
      const json = JSON.parse(readFileSync(pj, 'utf8')) as {
        name: string;
        dependencies?: Record<string, string>;
        peerDependencies?: Record<string, string>;
        exports?: Record<string, unknown> | string;
      };
      const exports =
        json.exports === undefined || typeof json.exports === 'string' ? ['.'] : Object.keys(json.exports);
      manifests.push({
        unit: name,
        name: json.name,
        dependencies: { ...json.peerDependencies, ...json.dependencies },
        exports,
      });
      const walk = (abs: string) => {
        for (const entry of readdirSync(abs).sort()) {
          const p = join(abs, entry);
          if (statSync(p).isDirectory()) walk(p);
          else if (SOURCE.test(entry) && !TEST.test(entry) && !entry.endsWith('.d.ts')) {
            files.push({
              unit: name,
              path: relative(root, p).split(sep).join('/'),
              text: readFileSync(p, 'utf8'),
            });
          }
        }
      };
      if (existsSync(join(root, dir, 'src'))) walk(join(root, dir, 'src'));
    }
  }
  return { files, manifests };
}
