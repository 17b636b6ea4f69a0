/**
 * An MDE client error as an operator reads it: the client's messages name its own operation
 * (`getMachineAction`), which means nothing outside the code; the CLI names the MDE API instead.
 */
import type { MdeApiError } from '../shared/mde/errors';

export function mdeErrorText(error: MdeApiError): string {
  if (error.kind === 'refused-before-sending')
    return `${error.message.replace(`${error.operation} refused before sending to MDE: `, '')}; nothing was sent to MDE`;
  return error.message.split(`MDE ${error.operation} `).join(`MDE (${error.api} API) `);
}
