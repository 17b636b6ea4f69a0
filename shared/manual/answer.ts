/** Every status a manual use case answers with (shared/openapi.json documents each). */
export const MANUAL_STATUSES = [200, 201, 202, 400, 401, 403, 404, 409, 422, 503] as const;

/** What a manual endpoint answers: a status and a JSON body, built by the use cases, sent by the function. */
export interface ManualAnswer {
  status: (typeof MANUAL_STATUSES)[number];
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

export function refusal(
  status: ManualAnswer['status'],
  code: string,
  message: string,
  details: Record<string, unknown> = {},
): ManualAnswer {
  return { status, body: { error: { code, message }, ...details } };
}

/** The store or MDE did not answer: `outcome` (nothing was posted), try again shortly. */
export function unavailable(what: 'store' | 'mde', outcome = 'nothing was posted'): ManualAnswer {
  const message =
    what === 'store'
      ? `the state store cannot be reached; ${outcome}: try again shortly`
      : `Defender for Endpoint could not be asked; ${outcome}: try again shortly`;
  return {
    ...refusal(503, what === 'store' ? 'store-unavailable' : 'mde-unavailable', message),
    headers: { 'Retry-After': '30' },
  };
}
