// The config package mirrors the classifier's defaults (it cannot depend on @rstwatch/classify); the
// processor hands `config.classifier` to the engine, so the two must not drift.
import { DEFAULT_ENGINE_CONFIG, resolveEngineConfig } from '@rstwatch/classify';
import { loadConfig } from '@rstwatch/config';
import { describe, expect, it } from 'vitest';

describe('config.classifier', () => {
  it('defaults to exactly the engine defaults, and the engine accepts them', () => {
    const cfg = loadConfig({ env: {} });
    expect(cfg.classifier).toEqual({ ...DEFAULT_ENGINE_CONFIG });
    expect(resolveEngineConfig(cfg.classifier)).toEqual({ ...DEFAULT_ENGINE_CONFIG });
  });
});
