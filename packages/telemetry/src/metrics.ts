/**
 * Prometheus metrics: a prom-client Registry with the `rstwatch_` prefix, default labels (service,
 * sensor) and get-or-create helpers, so a component can declare its metrics beside its code.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const NAME = /^[a-z_][a-z0-9_]*$/;

export interface HistogramOptions<L extends string> {
  labelNames?: readonly L[];
  /** Bucket upper bounds; default prom-client's (seconds, 5 ms .. 10 s). */
  buckets?: number[];
}

/** A registry plus helpers. Metric names get the prefix unless they already carry it. */
export class Metrics {
  readonly registry: Registry;

  constructor(
    readonly prefix = 'rstwatch_',
    defaultLabels: Record<string, string> = {},
  ) {
    this.registry = new Registry();
    if (Object.keys(defaultLabels).length > 0) this.registry.setDefaultLabels(defaultLabels);
  }

  /** Full metric name: prefix + name, validated (lower snake case). */
  name(name: string): string {
    const full = name.startsWith(this.prefix) ? name : this.prefix + name;
    if (!NAME.test(full)) throw new Error(`invalid metric name "${full}": use lower_snake_case`);
    return full;
  }

  private existing<T>(full: string, ctor: abstract new (...args: never[]) => T): T | undefined {
    const m = this.registry.getSingleMetric(full);
    if (m === undefined) return undefined;
    if (!(m instanceof ctor)) throw new Error(`metric "${full}" is already registered as another type`);
    return m;
  }

  /** A counter (get-or-create). Counter names must end in `_total`. */
  counter<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    const full = this.name(name);
    if (!full.endsWith('_total')) throw new Error(`counter "${full}" must end in _total`);
    return (
      this.existing<Counter<L>>(full, Counter) ??
      new Counter<L>({ name: full, help, labelNames: [...labelNames], registers: [this.registry] })
    );
  }

  /** A gauge (get-or-create); `collect` runs at each scrape to set its value. */
  gauge<L extends string = string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    collect?: (g: Gauge<L>) => void | Promise<void>,
  ): Gauge<L> {
    const full = this.name(name);
    const found = this.existing<Gauge<L>>(full, Gauge);
    if (found !== undefined) return found;
    const cfg: ConstructorParameters<typeof Gauge<L>>[0] = {
      name: full,
      help,
      labelNames: [...labelNames],
      registers: [this.registry],
    };
    if (collect !== undefined)
      cfg.collect = function (this: Gauge<L>) {
        return collect(this);
      };
    return new Gauge<L>(cfg);
  }

  /**
   * A counter that follows cumulative values kept elsewhere (plain numbers on a component), read at
   * scrape time so nothing touches the hot path. `read` yields `[labels, total]` pairs; totals that
   * go down (a restart of the component) are ignored until they pass the last value again.
   */
  followCounter<L extends string = string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => Iterable<readonly [Partial<Record<L, string>>, number]>,
  ): Counter<L> {
    const full = this.name(name);
    if (!full.endsWith('_total')) throw new Error(`counter "${full}" must end in _total`);
    const last = new Map<string, number>();
    return new Counter<L>({
      name: full,
      help,
      labelNames: [...labelNames],
      registers: [this.registry],
      collect(this: Counter<L>) {
        for (const [labels, value] of read()) {
          const key = JSON.stringify(labels);
          const prev = last.get(key) ?? 0;
          if (value > prev) {
            this.inc(labels, value - prev);
            last.set(key, value);
          }
        }
      },
    });
  }

  /** A histogram (get-or-create). Use base units: seconds, bytes. */
  histogram<L extends string = string>(
    name: string,
    help: string,
    opts: HistogramOptions<L> = {},
  ): Histogram<L> {
    const full = this.name(name);
    const found = this.existing<Histogram<L>>(full, Histogram);
    if (found !== undefined) return found;
    const cfg: ConstructorParameters<typeof Histogram<L>>[0] = {
      name: full,
      help,
      labelNames: [...(opts.labelNames ?? [])],
      registers: [this.registry],
    };
    if (opts.buckets !== undefined) cfg.buckets = opts.buckets;
    return new Histogram<L>(cfg);
  }

  /** Node.js process metrics (CPU, memory, event loop lag, GC) under the prefix. */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry, prefix: this.prefix });
  }

  /** Exposition text, as served on /metrics. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** A new metrics registry; `defaultLabels` (e.g. `{ service: 'agent', sensor: 'tap-1' }`) go on every series. */
export function createMetrics(prefix = 'rstwatch_', defaultLabels: Record<string, string> = {}): Metrics {
  return new Metrics(prefix, defaultLabels);
}
