#!/usr/bin/env node
// Bundles the CLI for start-up time: `dist/rstwatch.js` (the program, as tsc built it) and the engine
// worker (`@rstwatch/processor/worker`) into `dist/bundle/`, one file per lazily loaded part (esbuild,
// ESM code splitting). Run by the root `pnpm build` after `tsc -b`; `dist/main.js` loads the result.
//
// Why: unbundled, `rstwatch analyze` loads ~250 modules on its main thread, 95 of them zod's, and Node 20
// has no compile cache; bundled, a 1,000-packet analyze starts ~80 ms sooner (bench/README.md, "Fixed
// cost"). It is the same program: the tests run the CLI through dist/main.js, so through the bundle.
//
// What is bundled: our workspace packages, zod and commander (pure JavaScript, loaded on every start).
// Every other npm package stays external: native addons (chdb, snappy, lz4-napi), packages that load
// their own files or threads at run time (piscina, pino, @bokuweb/zstd-wasm, uplot's assets, protobufjs),
// and the rest, which only some commands load. Each stays a dependency of the one package that uses it
// (test/architecture): `dist/node_modules/` gets a relative symlink per external, to the copy in its
// owning package's node_modules, so Node resolves the bundle's imports and its createRequire() lookups
// (yaml, snappy, chdb, uplot) to the same files as unbundled.
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(cli, '../..');
const BUNDLED = /^(@rstwatch\/|zod$|commander$)/;

const started = performance.now();
// Chunk names carry a content hash: a stale chunk would stay next to its successor.
rmSync(join(cli, 'dist/bundle'), { recursive: true, force: true });
const result = await build({
  entryPoints: {
    rstwatch: join(cli, 'dist/rstwatch.js'),
    worker: join(root, 'services/processor/dist/worker.js'),
  },
  outdir: join(cli, 'dist/bundle'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Bare specifiers (not relative, not package `imports` like #generated) outside BUNDLED stay imports.
  plugins: [
    {
      name: 'rstwatch-externals',
      setup(b) {
        b.onResolve({ filter: /^[^./#]/ }, (args) =>
          args.path.startsWith('node:') || BUNDLED.test(packageOf(args.path))
            ? undefined
            : { path: args.path, external: true },
        );
      },
    },
  ],
  // CommonJS inside the bundle (commander) calls require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __rstwatchRequire } from 'node:module'; const require = __rstwatchRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  logLevel: 'warning',
  metafile: true,
});
const links = linkExternals(result.metafile);
const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
const bytes = files.reduce((n, f) => n + result.metafile.outputs[f].bytes, 0);
process.stderr.write(
  `bundle: services/cli/dist/bundle: ${files.length} files, ${(bytes / 1e6).toFixed(2)} MB, ` +
    `${links} external packages linked, in ${Math.round(performance.now() - started)} ms\n`,
);

/** `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
function packageOf(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Link every npm dependency of the workspace packages the bundle took code from into dist/node_modules
 * (a dependency two packages pin at different versions is an error: the bundle could load only one).
 */
function linkExternals(metafile) {
  const owners = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /^(?:\.\.\/)*((?:packages|services)\/[^/]+)\//.exec(relative(root, join(process.cwd(), input)));
    if (m) owners.add(m[1]);
  }
  const target = new Map();
  for (const owner of [...owners].sort()) {
    const deps = JSON.parse(readFileSync(join(root, owner, 'package.json'), 'utf8')).dependencies ?? {};
    for (const dep of Object.keys(deps)) {
      if (BUNDLED.test(dep)) continue;
      const at = join(root, owner, 'node_modules', dep);
      const prev = target.get(dep);
      if (prev && realpathSync(prev) !== realpathSync(at)) {
        throw new Error(`bundle: ${dep} resolves to different copies in ${prev} and ${at}; pin one version`);
      }
      target.set(dep, prev ?? at);
    }
  }
  const dir = join(cli, 'dist/node_modules');
  rmSync(dir, { recursive: true, force: true });
  for (const [dep, at] of target) {
    if (!existsSync(at)) throw new Error(`bundle: ${at} is missing: run \`pnpm install\``);
    const link = join(dir, dep);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), at), link, 'dir');
  }
  return target.size;
}
