import { describe, expect, it } from 'vitest';
import { freePort, freePorts, isPortFree } from '../src/index.js';

describe('freePorts', () => {
  it('returns the asked number of different ports, each free again once returned', async () => {
    for (let round = 0; round < 20; round++) {
      const ports = await freePorts(5);
      expect(ports).toHaveLength(5);
      expect(new Set(ports).size, `round ${round}: ${ports.join(', ')}`).toBe(5);
      for (const p of ports) expect(await isPortFree(p), `port ${p}`).toBe(true);
    }
    const one = await freePort();
    expect(one).toBeGreaterThan(0);
    expect(await freePorts(0)).toEqual([]);
  });
});
