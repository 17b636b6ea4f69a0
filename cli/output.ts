/**
 * How a verb prints its result, the same for every verb that uses it (as `gh` and `az` do): a table
 * on a terminal, tab-separated values without borders on a pipe, `-o/--output table|json|tsv` to
 * choose (and `csv` for the verbs whose result is rows alone), `--json` kept as an alias, `-q/--query FIELDS` to keep only some fields of the JSON, and
 * `--wide`. A table fits the terminal (its width, else COLUMNS, else 80): columns a verb marks
 * optional are dropped below a width, cells wrap between words and a word too long is cut with "…",
 * ids are shortened and times shown local to the minute unless `--wide`. TSV and JSON always carry
 * full values.
 */
import Table from 'cli-table3';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { isRecord } from '../shared/kernel/records';
import { type CliIo, EXIT } from './context';

export const OUTPUT_FORMATS = ['table', 'json', 'tsv'] as const;
/** What a verb whose result is rows alone (printed with `rowsText`) takes: CSV as well. */
export const ROW_FORMATS = [...OUTPUT_FORMATS, 'csv'] as const;
export type OutputFormat = (typeof ROW_FORMATS)[number];

export interface OutputFlags {
  output?: OutputFormat;
  json?: boolean;
  wide?: boolean;
  /** `--query`: the field paths to keep, each split at its dots. */
  query?: string[][];
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

/** Ends `verb` when the state store did not answer while it read or wrote (exit 1): worth a retry. */
export function endOnStoreError(io: CliIo, format: OutputFormat, verb: string, error: unknown): number {
  const cause = error instanceof Error ? error.message : String(error);
  return endVerb(io, format, verb, EXIT.failure, {
    stage: 'run',
    kind: 'store-unavailable',
    message: `the store did not answer: ${cause}; check AzureWebJobsStorage and try again`,
  });
}

/** Ends `verb` on a bad flag, setting or input file, before any work (exit 2). */
export function endOnBadInput(io: CliIo, format: OutputFormat, verb: string, message: string): number {
  return endVerb(io, format, verb, EXIT.badInput, { stage: 'start', kind: 'bad-input', message });
}

/** Width of a table when stdout is not a terminal and COLUMNS is not set: the classic terminal's. */
export const DEFAULT_COLUMNS = 80;

/** Fields `--query` takes, and dots in one: enough to pick from any verb's document. */
const QUERY_FIELDS_MAX = 20;
const QUERY_DEPTH_MAX = 5;

/** `--query id,status,device.machineId`: field paths, each split at its dots. */
function parseQuery(value: string): string[][] {
  const paths = value.split(',').map((field) => field.trim());
  if (paths.length > QUERY_FIELDS_MAX) throw new InvalidArgumentError(`at most ${QUERY_FIELDS_MAX} fields`);
  return paths.map((path) => {
    const parts = path.split('.');
    if (parts.length > QUERY_DEPTH_MAX || parts.some((part) => !/^[A-Za-z0-9_@-]{1,64}$/.test(part)))
      throw new InvalidArgumentError(
        `"${path.slice(0, 64)}" is not a field name or dotted path (such as actionId or device.machineId)`,
      );
    return parts;
  });
}

/** Adds `-o/--output` (one of `formats`), `--json`, `-q/--query` and `--wide` to a verb. */
export function withOutputOptions(
  command: Command,
  formats: readonly OutputFormat[] = OUTPUT_FORMATS,
): Command {
  const named = `${formats.slice(0, -1).join(', ')} or ${formats[formats.length - 1]}`;
  return command
    .addOption(
      new Option('-o, --output <format>', `${named} (default: table on a terminal, tsv on a pipe)`).choices(
        formats,
      ),
    )
    .option('--json', 'same as --output json')
    .addOption(
      new Option(
        '-q, --query <fields>',
        'JSON with only these comma-separated fields (dotted paths)',
      ).argParser(parseQuery),
    )
    .option('--wide', 'tables as wide as their content: full ids and times, no column dropped');
}

/** True when stdout is a terminal: a person reads it. */
function isTerminal(io: CliIo): boolean {
  return (io.stdout as Partial<NodeJS.WriteStream>).isTTY === true;
}

export function formatOf(flags: OutputFlags, io: CliIo): OutputFormat {
  if (flags.json || flags.query) return 'json';
  return flags.output ?? (isTerminal(io) ? 'table' : 'tsv');
}

/** The width a table must fit: unlimited with `--wide`. */
export function tableWidth(io: CliIo, wide: boolean | undefined): number {
  if (wide) return Number.POSITIVE_INFINITY;
  const stream = io.stdout as Partial<NodeJS.WriteStream>;
  if (stream.isTTY && stream.columns) return stream.columns;
  const columns = Number(io.env.COLUMNS);
  return Number.isInteger(columns) && columns >= 40 ? columns : DEFAULT_COLUMNS;
}

/** `value` with only the `paths` asked for; an array keeps them in each element. */
function pick(value: unknown, paths: string[][]): unknown {
  if (Array.isArray(value)) return value.map((item) => pick(item, paths));
  if (!isRecord(value)) return value;
  const picked: Record<string, unknown> = {};
  for (const key of new Set(paths.map((path) => path[0]))) {
    if (!(key in value)) continue;
    const whole = paths.some((path) => path.length === 1 && path[0] === key);
    const deeper = paths.filter((path) => path[0] === key).map((path) => path.slice(1));
    picked[key] = whole ? value[key] : pick(value[key], deeper);
  }
  return picked;
}

/** Top-level fields of a document (of its elements, for an array): what `--query` can name. */
function fieldsOf(value: unknown): Set<string> {
  const items = Array.isArray(value) ? value : [value];
  return new Set(items.flatMap((item) => (isRecord(item) ? Object.keys(item) : [])));
}

/**
 * Writes `value` as the verb's JSON document, keeping only `--query`'s fields. A field the document
 * does not have is said on stderr with the ones it has (an empty list is an answer too).
 */
export function writeJson(io: CliIo, flags: Pick<OutputFlags, 'query'>, value: unknown): void {
  const { query } = flags;
  if (query) {
    const fields = fieldsOf(value);
    const missing = query.map((path) => path[0]).filter((field) => fields.size > 0 && !fields.has(field));
    if (missing.length > 0)
      io.stderr.write(
        `--query: no field ${[...new Set(missing)].join(', ')} here; fields: ${[...fields].join(', ')}\n`,
      );
  }
  io.stdout.write(`${JSON.stringify(query ? pick(value, query) : value, null, 2)}\n`);
}

export interface Column {
  head: string;
  /** Narrowest this column gets when the table must shrink (content only, padding excluded). */
  min: number;
  /** Free text (a reason) that wraps well: it gives way first, down to PREFERRED_FLEX_WIDTH. */
  flex?: boolean;
  /** `id`: shortened to its first 8 characters in a table; `time`: an ISO time shown local to the minute. */
  kind?: 'id' | 'time';
  /** Dropped from a table narrower than this many columns (TSV and JSON keep it). */
  dropBelow?: number;
}

/** A free-text column keeps this much before the other columns start wrapping. */
const PREFERRED_FLEX_WIDTH = 30;
/** Other columns keep this much (a host name, an FQDN's first labels) before free text shrinks further. */
const NAME_WIDTH = 20;

/** Display width of a line: one column per code point (the tables hold no wide characters). */
const widthOf = (line: string) => [...line].length;

/** `word` cut to `width` columns, its end replaced by "…". */
function cut(word: string, width: number): string {
  return widthOf(word) <= width ? word : `${[...word].slice(0, Math.max(1, width - 1)).join('')}…`;
}

/**
 * `text` in lines of at most `width` columns, broken between words only; a word longer than a line
 * is cut with "…" (its full value is in TSV, JSON and `--wide`).
 */
export function wrapText(text: string, width: number): string {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/ +/).map((w) => cut(w, width))) {
      if (line && widthOf(line) + 1 + widthOf(word) <= width) line = `${line} ${word}`;
      else {
        if (line) lines.push(line);
        line = word;
      }
    }
    lines.push(line);
  }
  return lines.join('\n');
}

function longestLine(text: string): number {
  return Math.max(0, ...text.split('\n').map(widthOf));
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

/** A cell as a table shows it: ids short and times local unless `wide`. */
function shown(column: Column, cell: string, wide: boolean): string {
  if (wide) return cell;
  if (column.kind === 'id') return shortId(cell, false);
  if (column.kind === 'time' && cell !== '-') return localTime(cell);
  return cell;
}

/** A bordered table of `rows` (full values) that fits `width`. */
export function renderTable(columns: Column[], rows: string[][], width: number, wide = false): string {
  const kept = columns.flatMap((column, i) =>
    wide || column.dropBelow === undefined || width >= column.dropBelow ? [i] : [],
  );
  const heads = kept.map((i) => columns[i]);
  const cells = rows.map((row) => kept.map((i) => shown(columns[i], row[i] ?? '', wide)));
  const widths = contentWidths(heads, cells, width);
  const table = new Table({
    head: heads.map((c) => c.head),
    colWidths: widths.map((w) => w + 2),
    wordWrap: false,
    style: { head: [], border: [] },
  });
  for (const row of cells) table.push(row.map((cell, i) => wrapText(cell, widths[i])));
  return `${table.toString()}\n`;
}

/** Tab-separated values with a header line; tabs and line breaks inside a value become spaces. */
export function renderTsv(columns: Column[], rows: string[][]): string {
  const clean = (value: string) => value.replace(/[\t\r\n]+/g, ' ');
  return `${[columns.map((c) => c.head), ...rows].map((row) => row.map(clean).join('\t')).join('\n')}\n`;
}

/**
 * RFC 4180 CSV with a header line (https://www.rfc-editor.org/rfc/rfc4180): CRLF line ends, a value
 * with a comma, quote or line break quoted. Values come from alerts an attacker may write, and a
 * spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, tab or CR as a formula: such a cell
 * gets a leading `'` (OWASP "CSV Injection").
 */
export function renderCsv(columns: Column[], rows: string[][]): string {
  return stringify([columns.map((c) => c.head), ...rows], {
    record_delimiter: 'windows',
    // The library quotes a value holding the record delimiter (CRLF) only; a bare LF or CR must be quoted too.
    quoted_match: /[\r\n]/,
    escape_formulas: true,
  });
}

/**
 * `rows` (full values) as the format asks: a table that fits the terminal, TSV or CSV. `empty` is
 * what a table says when there is no row (TSV and CSV print their header line alone).
 */
export function rowsText(
  io: CliIo,
  flags: Pick<OutputFlags, 'wide'>,
  format: Exclude<OutputFormat, 'json'>,
  columns: Column[],
  rows: string[][],
  empty = '',
): string {
  if (format === 'tsv') return renderTsv(columns, rows);
  if (format === 'csv') return renderCsv(columns, rows);
  if (rows.length === 0) return empty && `${empty}\n`;
  return renderTable(columns, rows, tableWidth(io, flags.wide), flags.wide ?? false);
}

/**
 * A line of prose under or instead of a table, wrapped between words to the terminal's width (lines
 * after the first indented by `indent` spaces); on a pipe, one line for grep. Ends with a line break.
 */
export function fitLine(io: CliIo, flags: Pick<OutputFlags, 'wide'>, text: string, indent = 0): string {
  const width = tableWidth(io, flags.wide);
  if (!isTerminal(io) || !Number.isFinite(width)) return `${text}\n`;
  const [first, ...rest] = wrapText(text, width).split('\n');
  const tail = rest.length ? wrapText(rest.join(' '), width - indent).split('\n') : [];
  return `${[first, ...tail.map((line) => `${' '.repeat(indent)}${line}`)].join('\n')}\n`;
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

/** A span for a person, in the unit that reads best: `850 ms`, `42.0 s`, `12.5 min`, `7.7 h`. */
export function durationText(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
