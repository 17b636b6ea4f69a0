import { probeFailure } from '../../shared/dispatch/transport/service-bus-queue';

/** Errors shaped as @azure/service-bus and its AMQP layer throw them (code, message). */
const failing = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("the doctor's queue probe", () => {
  it.each([
    ['UnauthorizedAccess', "Unauthorized access. 'Listen' claim(s) are required", 'unauthorized'],
    [
      'MessagingEntityNotFound',
      "The messaging entity 'sb://x/isolation-requests' could not be found",
      'not-found',
    ],
    ['ServiceCommunicationProblem', 'getaddrinfo ENOTFOUND nons.servicebus.windows.net', 'unreachable'],
    ['GeneralError', 'connect ECONNREFUSED 127.0.0.1:5671', 'unreachable'],
    ['GeneralError', 'something else entirely', 'failed'],
  ])('reads %s (%s) as %s', (code, message, kind) => {
    expect(probeFailure(failing(code, message))).toEqual({ ok: false, kind, message });
  });

  it('keeps the message to one bounded line', () => {
    const probe = probeFailure(failing('GeneralError', `first\nsecond ${'x'.repeat(500)}`));
    expect(probe.ok).toBe(false);
    if (!probe.ok) expect(probe.message).not.toContain('\n');
    if (!probe.ok) expect(probe.message.length).toBeLessThanOrEqual(200);
  });
});
