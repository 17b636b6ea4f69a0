/**
 * How a verb prints its result: `--output table|json|tsv` (`--json` kept as an alias) and `--wide`.
 * A table fits the terminal: its width, or COLUMNS, or 100 columns when stdout is not a terminal (a
 * pipe, a log); long cells wrap at word boundaries and ids are shortened unless `--wide`. TSV and
 * JSON always carry full values.
 */
import Table from 'cli-table3';
import { type Command, Option } from 'commander';
import { type CliIo, EXIT } from './context';

export const OUTPUT_FORMATS = ['table', 'json', 'tsv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface OutputFlags {
  output?: OutputFormat;
  json?: boolean;
  wide?: boolean;
}

/** Why a verb ended without its result: where (`stage`), what (`kind`, stable for scripts) and the one line to fix it. */
export interface CliFailure {
  stage: 'start' | 'pre-flight' | 'run';
  kind: string;
  message: string;
}

/**
 * With `--output json`, a failure that ends a verb before its result is also a JSON document on stdout,
 * `{ "error": { stage, kind, message } }`: a script reading stdout gets JSON whatever happened.
 */
export function writeJsonError(io: CliIo, format: OutputFormat, error: CliFailure): void {
  if (format === 'json') io.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
}

/** Ends `verb` on `error`: `line` on stderr, and the JSON error on stdout under `--output json`. */
export function endVerb(
  io: CliIo,
  format: OutputFormat,
  verb: string,
  code: number,
  error: CliFailure,
  line = error.message,
): number {
  io.stderr.write(`${verb}: ${line}\n`);
  writeJsonError(io, format, error);
  return code;
}

/** Ends `verb` on a bad flag, setting or input file, before any work (exit 2). */
export function endOnBadInput(io: CliIo, format: OutputFormat, verb: string, message: string): number {
  return endVerb(io, format, verb, EXIT.badInput, { stage: 'start', kind: 'bad-input', message });
}

/** Width of a table when stdout is not a terminal and COLUMNS is not set. */
export const DEFAULT_COLUMNS = 100;

/** Adds `--output`, `--json` and `--wide` to a verb. */
export function withOutputOptions(command: Command): Command {
  return command
    .addOption(new Option('--output <format>', 'table, json or tsv').choices(OUTPUT_FORMATS))
    .option('--json', 'same as --output json')
    .option('--wide', 'tables as wide as their content: full ids, no wrapping');
}

export function formatOf(flags: OutputFlags): OutputFormat {
  return flags.json ? 'json' : (flags.output ?? 'table');
}

/** The width a table must fit: unlimited with `--wide`. */
export function tableWidth(io: CliIo, wide: boolean | undefined): number {
  if (wide) return Number.POSITIVE_INFINITY;
  const stream = io.stdout as Partial<NodeJS.WriteStream>;
  if (stream.isTTY && stream.columns) return stream.columns;
  const columns = Number(io.env.COLUMNS);
  return Number.isInteger(columns) && columns >= 40 ? columns : DEFAULT_COLUMNS;
}

export interface Column {
  head: string;
  /** Narrowest this column gets when the table must shrink (content only, padding excluded). */
  min: number;
  /** Free text (a reason) that wraps well: it gives way first, down to PREFERRED_FLEX_WIDTH. */
  flex?: boolean;
}

/** A free-text column keeps this much before the other columns start wrapping. */
const PREFERRED_FLEX_WIDTH = 30;
/** Other columns keep this much (a host name, an FQDN's first labels) before free text shrinks further. */
const NAME_WIDTH = 20;

/** Where to cut a word longer than the line: after a dot, dash or slash in its second half, else at the width. */
function cutPoint(word: string, width: number): number {
  for (let i = width; i > width / 2; i -= 1) if ('.-/'.includes(word[i - 1])) return i;
  return width;
}

/** `text` cut into lines of at most `width` characters, at spaces where it can, mid-word where it must. */
export function wrapText(text: string, width: number): string {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/ +/)) {
      if (line && line.length + 1 + word.length <= width) {
        line = `${line} ${word}`;
        continue;
      }
      if (line) lines.push(line);
      line = word;
      while (line.length > width) {
        const cut = cutPoint(line, width);
        lines.push(line.slice(0, cut));
        line = line.slice(cut);
      }
    }
    lines.push(line);
  }
  return lines.join('\n');
}

function longestLine(text: string): number {
  return Math.max(0, ...text.split('\n').map((line) => line.length));
}

/**
 * Content widths that fit `width` (borders and padding included): each column as wide as its content
 * when that fits; otherwise the widest column gives way, in the order of `floors` below.
 */
function contentWidths(columns: Column[], rows: string[][], width: number): number[] {
  const widths = columns.map((column, i) =>
    Math.max(column.head.length, ...rows.map((row) => longestLine(row[i] ?? ''))),
  );
  // Each column has one space of padding either side and one border character; plus the last border.
  const overhead = columns.length * 3 + 1;
  let excess = widths.reduce((sum, w) => sum + w, 0) + overhead - width;
  // Names and ids read badly when cut: free text gives way first, names only down to NAME_WIDTH.
  const floors: ((column: Column) => number | null)[] = [
    (c) => (c.flex ? Math.max(c.min, PREFERRED_FLEX_WIDTH) : null),
    (c) => (c.flex ? null : Math.max(c.min, NAME_WIDTH)),
    (c) => c.min,
  ];
  for (const floor of floors) {
    while (excess > 0) {
      let widest = -1;
      for (const [i, w] of widths.entries()) {
        const least = floor(columns[i]);
        if (least !== null && w > least && (widest < 0 || w > widths[widest])) widest = i;
      }
      if (widest < 0) break;
      widths[widest] -= 1;
      excess -= 1;
    }
  }
  return widths;
}

/** A bordered table of `rows` that fits `width`. */
export function renderTable(columns: Column[], rows: string[][], width: number): string {
  const widths = contentWidths(columns, rows, width);
  const table = new Table({
    head: columns.map((c) => c.head),
    colWidths: widths.map((w) => w + 2),
    wordWrap: false,
    style: { head: [], border: [] },
  });
  for (const row of rows) table.push(row.map((cell, i) => wrapText(cell, widths[i])));
  return `${table.toString()}\n`;
}

/** Tab-separated values with a header line; tabs and line breaks inside a value become spaces. */
export function renderTsv(columns: Column[], rows: string[][]): string {
  const clean = (value: string) => value.replace(/[\t\r\n]+/g, ' ');
  return `${[columns.map((c) => c.head), ...rows].map((row) => row.map(clean).join('\t')).join('\n')}\n`;
}

/** An MDE action id (a GUID) shortened for a table: its first 8 hex digits, enough to tell actions apart at a glance. */
export function shortId(id: string, wide: boolean | undefined): string {
  if (wide || id.length <= 12) return id;
  return `${id.slice(0, 8)}…`;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** An ISO time in this machine's time zone, to the minute (`2026-12-07 18:04`): what a table shows. */
export function localTime(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return `${at.getFullYear()}-${pad2(at.getMonth() + 1)}-${pad2(at.getDate())} ${pad2(at.getHours())}:${pad2(at.getMinutes())}`;
}
