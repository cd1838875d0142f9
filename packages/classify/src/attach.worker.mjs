// Worker side of attach.test.ts: attach to an engine's shared memory and process the second half.
import { parentPort, workerData } from 'node:worker_threads';
import { Engine } from '@rstwatch/classify';
import { HeaderColumns } from '@rstwatch/core';

const { shared, buffer, capacity, length } = workerData;
const engine = Engine.attach(shared);
const cols = HeaderColumns.fromBuffer(buffer, capacity, length);
const a = engine.processBatch(cols, 'sensor-a');
const b = engine.finish();
parentPort.postMessage({
  events: [...a.events, ...b.events],
  flows: [...a.flows, ...b.flows],
  stats: engine.stats(),
});
