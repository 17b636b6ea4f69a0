/**
 * A runtime of the app in an OS process of its own, driven by the test that forked it over IPC (with
 * ts-hook.js): `worker` is the inline worker runtime, `http` the runtime of the HTTP functions, whose
 * manual endpoints it serves through their handlers (functions/manual.ts). Settings come from the
 * environment, as in a deployed instance; argv: the role, then the holder lease in ms.
 *
 * Each order gets one answer, `{ id, value }` or `{ id, error }`. `hold` makes one MDE call and then
 * freezes the process with the slots it was granted still held (its event loop stops, so no timer
 * gives them back nor renews its lease): the test reads the store, then SIGKILLs it.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { action, cancelAction } from '../../../functions/manual';
import { compressTiming } from '../../../shared/dispatch/timing';
import { errorMessage } from '../../../shared/kernel/errors';
import { createRuntime, installRuntime } from '../../../shared/runtime';

export type RuntimeRole = 'worker' | 'http';

export type RuntimeOrder =
  | { do: 'alerts'; body: unknown }
  | { do: 'idle'; maxWaitMs: number }
  | { do: 'read-action'; actionId: string }
  | { do: 'cancel-action'; actionId: string; reason: string }
  | { do: 'hold'; machineId: string }
  | { do: 'close' };

export type RuntimeAnswer = { id: number; value?: unknown; error?: string };

const [role, leaseMs] = [process.argv[2] as RuntimeRole, Number(process.argv[3])];

const runtime = installRuntime(
  createRuntime({
    mode: 'inline',
    timing: compressTiming(0.001),
    claimLeaseMs: leaseMs,
    startWorker: role === 'worker',
  }),
);

const context = () => new InvocationContext({ logHandler: () => undefined });

async function statusOf(answer: Promise<{ status?: number }>): Promise<number | undefined> {
  return (await answer).status;
}

async function carryOut(order: RuntimeOrder): Promise<unknown> {
  switch (order.do) {
    case 'alerts':
      return (await runtime.receiveAlerts(order.body)).accepted;
    case 'idle':
      return runtime.waitForIdle(order.maxWaitMs);
    case 'read-action':
      return statusOf(
        action(
          new HttpRequest({
            url: `http://localhost/api/actions/${order.actionId}`,
            method: 'GET',
            params: { actionId: order.actionId },
          }),
          context(),
        ),
      );
    case 'cancel-action':
      return statusOf(
        cancelAction(
          new HttpRequest({
            url: `http://localhost/api/actions/${order.actionId}/cancel`,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            params: { actionId: order.actionId },
            body: { string: JSON.stringify({ reason: order.reason, force: true }) },
          }),
          context(),
        ),
      );
    case 'hold':
      return (await runtime.api.getMachine(order.machineId)).id;
    case 'close':
      return runtime.close();
  }
}

process.on('message', (message: { id: number; order: RuntimeOrder }) => {
  const { id, order } = message;
  carryOut(order).then(
    (value) => {
      process.send?.({ id, value } satisfies RuntimeAnswer, () => {
        if (order.do === 'close') process.exit(0);
      });
      // Frozen in the turn the call ended in: no idle timer gets to give the slots back (the answer is
      // already written to the pipe).
      if (order.do === 'hold') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    },
    (error: unknown) => process.send?.({ id, error: errorMessage(error) } satisfies RuntimeAnswer),
  );
});
process.send?.({ id: 0, value: 'ready' } satisfies RuntimeAnswer);
