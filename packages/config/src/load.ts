/**
 * loadConfig: defaults < YAML file < RSTWATCH_* environment < overrides (CLI flags), validated against
 * the schema, then secrets read from their files and cross-field rules checked. Every failure is a
 * ConfigError naming the key, where the value came from and what is allowed.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.js';
import { envOverrides } from './internal/env.js';
import { child, describeType, keysOf } from './internal/types.js';
import { yaml } from './internal/yaml.js';
import { type Config, configSchema, type DeepPartial } from './schema.js';

export interface LoadOptions {
  /** YAML file; default `$RSTWATCH_CONFIG`; none: defaults and environment only. */
  file?: string;
  /** Environment to read `RSTWATCH_*` overrides from; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Highest-precedence values, typically from command-line flags. */
  overrides?: DeepPartial<Config>;
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(a: unknown, b: unknown): unknown {
  if (b === undefined) return a;
  if (isPlain(a) && isPlain(b)) {
    const out: Plain = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
    return out;
  }
  return b;
}

function leafPaths(v: unknown, prefix: string[], out: Set<string>): Set<string> {
  if (isPlain(v)) for (const [k, x] of Object.entries(v)) leafPaths(x, [...prefix, k], out);
  else if (v !== undefined) out.add(prefix.join('.'));
  return out;
}

function schemaAt(path: readonly (string | number)[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = configSchema;
  for (const k of path) s = s === undefined ? undefined : child(s, k);
  return s;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

interface YamlFile {
  values: Plain;
  locate(path: readonly (string | number)[]): string | undefined;
}

function readYaml(file: string): YamlFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new ConfigError([{ path: '', source: file, message: `cannot read the config file: ${why}` }], {
      cause: err,
    });
  }
  const { LineCounter, parseDocument } = yaml();
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  const err = doc.errors[0];
  if (err !== undefined) {
    const { line, col } = lc.linePos(err.pos[0]);
    const what = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(
      [{ path: '', source: `${file}:${line}:${col}`, message: `YAML syntax error: ${what}` }],
      {
        cause: err,
      },
    );
  }
  const values: unknown = doc.toJS() ?? {};
  if (!isPlain(values)) {
    throw new ConfigError([
      { path: '', source: file, message: 'the file must be a YAML mapping of sections (key: value)' },
    ]);
  }
  return {
    values,
    locate(path) {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        if (node?.range !== undefined) return `${file}:${lc.linePos(node.range[0]).line}`;
      }
      return undefined;
    },
  };
}

type Path = readonly (string | number)[];
/** An issue at `path`, naming where the value came from. */
type IssueAt = (path: Path, message: string) => ConfigIssue;

/** Where the value at `path` came from: the override, the environment variable or the file line. */
function attribution(
  overrides: DeepPartial<Config> | undefined,
  fromEnv: ReturnType<typeof envOverrides>,
  fromFile: YamlFile | undefined,
): IssueAt {
  const overridden = leafPaths(overrides, [], new Set());
  const source = (path: Path): string | undefined => {
    for (let n = path.length; n > 0; n--) {
      const p = path.slice(0, n).join('.');
      if (overridden.has(p)) return 'override';
      const e = fromEnv.origins.get(p);
      if (e !== undefined) return `env ${e}`;
    }
    return fromFile?.locate(path);
  };
  return (path, message) => {
    const src = source(path);
    return src === undefined
      ? { path: path.join('.'), message }
      : { path: path.join('.'), source: src, message };
  };
}

/** The schema's complaints in our words: unknown keys with the allowed ones, or the expected type. */
function schemaIssues(error: z.ZodError, issue: IssueAt): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const i of error.issues) {
    const path = i.path.map((k) => (typeof k === 'number' ? k : String(k)));
    if (i.code === 'unrecognized_keys') {
      const allowed = keysOf(schemaAt(path) ?? configSchema).join(', ');
      for (const k of i.keys)
        issues.push(issue([...path, k], `unknown key "${k}"; allowed keys here: ${allowed}`));
    } else {
      const leaf = schemaAt(path);
      const expected = leaf === undefined ? i.message : `expected ${describeType(leaf)}`;
      issues.push(issue(path, `${expected}, got ${show(i.input)}`));
    }
  }
  return issues;
}

/** Checks after the schema: secrets read from their files, TLS files present, cross-field rules. */
class PostChecks {
  readonly issues: ConfigIssue[] = [];
  /** The first error thrown by a file read, kept as the ConfigError's cause. */
  cause: unknown;

  constructor(private readonly issue: IssueAt) {}

  /** Replaces `passwordFile` by the file's content in `password`. */
  readSecret(obj: { password?: string | undefined; passwordFile?: string | undefined }, at: string[]): void {
    if (obj.passwordFile === undefined) return;
    if (obj.password !== undefined) {
      this.issues.push(this.issue([...at, 'password'], 'set either password or passwordFile, not both'));
      return;
    }
    try {
      const pw = readFileSync(obj.passwordFile, 'utf8').replace(/\r?\n$/, '');
      if (pw === '') this.issues.push(this.issue([...at, 'passwordFile'], `${obj.passwordFile} is empty`));
      else obj.password = pw;
    } catch (err) {
      this.cause ??= err;
      this.issues.push(
        this.issue([...at, 'passwordFile'], `cannot read ${obj.passwordFile}: ${(err as Error).message}`),
      );
    }
  }

  tlsFiles(
    t: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined },
    at: string[],
  ): void {
    this.mustExist(t.ca, [...at, 'ca']);
    this.mustExist(t.cert, [...at, 'cert']);
    this.mustExist(t.key, [...at, 'key']);
    if ((t.cert === undefined) !== (t.key === undefined)) {
      this.issues.push(
        this.issue([...at, t.cert === undefined ? 'cert' : 'key'], 'cert and key must be set together'),
      );
    }
  }

  crossFields(cfg: Config): void {
    const sasl = cfg.kafka.sasl;
    if (sasl.mechanism !== 'none') {
      if (sasl.username === undefined)
        this.issues.push(
          this.issue(['kafka', 'sasl', 'username'], `required with mechanism ${sasl.mechanism}`),
        );
      if (sasl.password === undefined && sasl.passwordFile === undefined) {
        this.issues.push(
          this.issue(
            ['kafka', 'sasl', 'password'],
            `password or passwordFile required with mechanism ${sasl.mechanism}`,
          ),
        );
      }
    }
    if (cfg.agent.idempotent && cfg.agent.acks !== 'all') {
      this.issues.push(
        this.issue(
          ['agent', 'idempotent'],
          'an idempotent producer needs acks: all (or set idempotent: false)',
        ),
      );
    }
  }

  private mustExist(p: string | undefined, at: string[]): void {
    if (p !== undefined && !existsSync(p)) this.issues.push(this.issue(at, `file not found: ${p}`));
  }
}

/** Load, merge and validate the configuration. Throws ConfigError. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? (env.RSTWATCH_CONFIG || undefined);
  const fromFile = file === undefined ? undefined : readYaml(file);
  const fromEnv = envOverrides(configSchema, env);
  const issue = attribution(opts.overrides, fromEnv, fromFile);
  const merged = merge(merge(fromFile?.values ?? {}, fromEnv.values), opts.overrides);

  const r = configSchema.safeParse(merged, { reportInput: true });
  if (!r.success) throw new ConfigError(schemaIssues(r.error, issue), { cause: r.error });
  const cfg = r.data;

  const checks = new PostChecks(issue);
  checks.readSecret(cfg.kafka.sasl, ['kafka', 'sasl']);
  checks.readSecret(cfg.clickhouse, ['clickhouse']);
  if (cfg.kafka.ssl.enabled) checks.tlsFiles(cfg.kafka.ssl, ['kafka', 'ssl']);
  checks.tlsFiles(cfg.clickhouse.tls, ['clickhouse', 'tls']);
  checks.crossFields(cfg);
  const { issues, cause } = checks;
  if (issues.length > 0) throw new ConfigError(issues, cause === undefined ? undefined : { cause });
  return cfg;
}
