/**
 * Test helpers for other packages' tests: a `Consumer` that talks to no broker. Every method does
 * nothing (and resolves at once) unless `overrides` replaces it, e.g. a `disconnect` that never returns
 * to test a component's shutdown deadline.
 */
import type { Consumer } from './consumer.js';

export function fakeConsumer(overrides: Partial<Consumer> = {}): Consumer {
  return {
    connect: async () => {},
    subscribe: async () => {},
    run: async () => {},
    commitOffsets: async () => {},
    pause() {},
    resume() {},
    seek() {},
    onRebalance: () => () => {},
    onError: () => () => {},
    assignment: () => [],
    committedOffsets: async () => [],
    disconnect: async () => {},
    ...overrides,
  };
}
