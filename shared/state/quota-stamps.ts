/**
 * A quota share's call times as one string: the first time and then the gaps, base 36
 * ("lz2v5k0w,1c,9,..."), a few characters a call. Should a share hold more calls than fit in
 * `budget` characters (thousands of calls: more than any window of MDE's quota allows), the oldest
 * are left out: the processes may then make that many extra calls, which MDE answers with 429 and a
 * Retry-After.
 */

function encodeAll(stamps: readonly number[]): string {
  return stamps.map((at, i) => Math.round(i === 0 ? at : at - stamps[i - 1]).toString(36)).join(',');
}

export function encodeStamps(stamps: readonly number[], budget: number): string {
  let kept = [...stamps].sort((a, b) => a - b);
  let text = encodeAll(kept);
  while (text.length > budget) {
    kept = kept.slice(Math.ceil(kept.length / 10));
    text = encodeAll(kept);
  }
  return text;
}

export function decodeStamps(text: string): number[] {
  if (text === '') return [];
  const stamps: number[] = [];
  for (const part of text.split(',')) {
    const value = Number.parseInt(part, 36);
    if (!Number.isFinite(value) || value < 0) throw new Error('quota share is corrupt');
    stamps.push(stamps.length === 0 ? value : stamps[stamps.length - 1] + value);
  }
  return stamps;
}
