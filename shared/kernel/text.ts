/** Text from alerts and machine records, made fit to quote in a comment, a reason or a log line. */

/** Cuts to at most `max` UTF-16 units, never between the two halves of a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\ud800-\udbff]/.test(text[max - 2] ?? '') ? max - 2 : max - 1;
  return `${text.slice(0, end)}…`;
}

/**
 * Alert text made fit to quote: one line, at most `max` characters. Control and format characters
 * (newlines, bidi overrides) would let an alert forge or disguise text, and a lone surrogate is not
 * text at all.
 */
export function oneLine(value: string, max: number): string {
  return truncate(
    value
      .replace(/[\p{Cc}\p{Cf}\p{Cs}]+/gu, ' ')
      .replace(/\s+/g, ' ')
      .trim() || '-',
    max,
  );
}
