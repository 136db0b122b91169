// A node holds its port exclusively: a second listener on the same address is refused,
// saying why, instead of sharing the port (and splitting clients between two chains).
import { describe, expect, it } from 'vitest';
import { createApp, listen } from '../dist/native/uws.js';

describe('listening', () => {
  it('refuses a second listener on a taken port, and says the address is in use', async () => {
    const first = await listen(createApp(), '127.0.0.1', 0);
    try {
      await expect(listen(createApp(), '127.0.0.1', first.port)).rejects.toThrow(/the address is in use/);
    } finally {
      first.close();
    }
    // Once closed, the port can be bound again.
    const again = await listen(createApp(), '127.0.0.1', first.port);
    again.close();
  });
});
