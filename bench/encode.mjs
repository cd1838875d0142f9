// A capture file parsed as the agent parses it and encoded in the wire format, in batches of
// `batchSize` headers: the input of the classifier benches (encoded up front, untimed).
import { parseCaptureFile } from '../packages/packet/dist/index.js';
import { encodeHeaderBatch } from '../packages/wire/dist/index.js';

export async function encodeCapture(file, batchSize) {
  const msgs = [];
  await parseCaptureFile(file, {
    batchSize,
    onBatch: async (b) => {
      msgs.push(encodeHeaderBatch({ sensorId: 'bench', batchSeq: BigInt(msgs.length) }, b));
    },
  });
  return msgs;
}
