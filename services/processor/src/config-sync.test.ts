// The config schema takes its classifier defaults from @rstwatch/classify and the processor hands
// `config.classifier` to the engine: every key must come through, and the engine must accept it.
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
