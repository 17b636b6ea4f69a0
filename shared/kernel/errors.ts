/** A caught value as text for a message or a log line; anything can be thrown, not only an Error. */

/** The message of an Error, or the thrown value as a string. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * `TypeError: message`: the name tells a bug from an expected failure. Only name and message, never
 * the whole error: an axios error carries the request, its token included.
 */
export function errorSummary(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The stack of an Error, for a crash a developer reads; the thrown value as a string otherwise. */
export function errorStack(error: unknown): string {
  return error instanceof Error ? (error.stack ?? errorSummary(error)) : String(error);
}

/** The errno code of a failed file operation (`ENOENT`, `EACCES`), if it has one. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Why a file could not be read, for `cannot read (…)`: its errno code, else the message. */
export function fileErrorReason(error: unknown): string {
  return errnoCode(error) ?? errorMessage(error);
}
