import { oneLine, truncate } from '../../shared/kernel/text';

describe('truncate', () => {
  it('keeps a short text and cuts a long one to max characters, ellipsis included', () => {
    expect(truncate('short', 10)).toBe('short');
    expect(truncate('abcdefghij', 5)).toBe('abcd…');
  });

  it('never cuts between the two halves of a surrogate pair', () => {
    const cut = truncate('abc😀def', 5);
    expect(cut).toBe('abc…');
  });
});

describe('oneLine', () => {
  it('turns line breaks, control and bidi characters into single spaces', () => {
    expect(oneLine('first\r\nsecond\u202eevil\u0000end', 100)).toBe('first second evil end');
    expect(oneLine('  spaced   out  ', 100)).toBe('spaced out');
  });

  it('gives a dash for text that is nothing but blanks, and bounds the result', () => {
    expect(oneLine(' \n\t ', 100)).toBe('-');
    expect(oneLine('x'.repeat(200), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
