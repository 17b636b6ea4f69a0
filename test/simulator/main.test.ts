/** The standalone simulator (`npm run simulator`) on a port that is already taken. */

import { startSimulator } from '../../simulator';
import { startOnPort } from '../../simulator/main';

it('a second simulator on a busy port says which port and how to pick another', async () => {
  const first = await startSimulator();
  try {
    const port = Number(new URL(first.baseUrl).port);
    await expect(startOnPort({ port })).rejects.toThrow(
      `mde-simulator: port ${port} on 127.0.0.1 is in use (another simulator still running?). Stop it, or pick another port: npm run simulator -- --port ${port + 1} (--port 0 takes any free one)`,
    );
  } finally {
    await first.close();
  }
});
