/**
 * CSV output (cli/output.ts `renderCsv`): RFC 4180 quoting, and no cell a spreadsheet would run as a
 * formula, since audit reasons and device names come from alerts an attacker can write.
 */
import { type Column, renderCsv } from '../../cli/output';

const COLUMNS: Column[] = [
  { head: 'Device', min: 8 },
  { head: 'Reason', min: 8, flex: true },
];

describe('renderCsv', () => {
  it('quotes a value with a comma, a quote or a line break, and ends every record with CRLF', () => {
    const csv = renderCsv(COLUMNS, [
      ['ws-1', 'plain'],
      ['ws-2', 'a, b'],
      ['ws-3', 'said "isolate"'],
      ['ws-4', 'two\nlines'],
    ]);
    expect(csv).toBe(
      'Device,Reason\r\nws-1,plain\r\nws-2,"a, b"\r\nws-3,"said ""isolate"""\r\nws-4,"two\nlines"\r\n',
    );
  });

  it('keeps a cell from starting a formula', () => {
    const csv = renderCsv(COLUMNS, [
      ['=HYPERLINK("http://x")', '+1'],
      ['@SUM(A1)', '-2'],
    ]);
    const cells = csv.split('\r\n').slice(1, 3).join(',');
    expect(cells).not.toMatch(/(^|,)"?[=+@-]/);
    expect(csv).toContain(`'=HYPERLINK`);
  });

  it('prints the header line alone when there is no row', () => {
    expect(renderCsv(COLUMNS, [])).toBe('Device,Reason\r\n');
  });
});
