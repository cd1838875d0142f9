import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toEcs } from '../format/ecs.js';
import { sampleAlerts } from '../testing.js';
import { FileSink } from './file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rstwatch-filesink-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FileSink', () => {
  it('appends one ECS document per line, creating the directory', async () => {
    const path = join(dir, 'out', 'alerts.ndjson');
    const alerts = sampleAlerts(3);
    const sink = new FileSink(path);
    await sink.send(alerts.slice(0, 2));
    await sink.close();
    const again = new FileSink({ target: path, ecs: { hostname: 'h' } });
    await again.send(alerts.slice(2));
    await again.close();
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    expect(lines.slice(0, 3).map((l) => JSON.parse(l))).toEqual([
      toEcs(alerts[0]!),
      toEcs(alerts[1]!),
      toEcs(alerts[2]!, { hostname: 'h' }),
    ]);
  });

  it('writes to a caller-owned stream and leaves it open', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const sink = new FileSink(out);
    await sink.send(sampleAlerts(2));
    await sink.close();
    expect(out.writableEnded).toBe(false);
    expect(chunks.join('').split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('a failed output rejects sends', async () => {
    const sink = new FileSink(join(dir, 'x.ndjson'));
    await sink.close();
    await expect(sink.send(sampleAlerts(1))).rejects.toThrow(/file: /);
  });
});
