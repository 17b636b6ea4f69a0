/**
 * Every KQL query of the workbook (infra/workbook.json) and the alert rules (infra/alert-rules.json)
 * parses with Microsoft's Kusto parser, and reads records only by fields the record contract names
 * (shared/kernel/record-fields.ts, docs/records.md): a renamed or misspelt field would otherwise chart
 * nothing and alert never. The Bicep CLI compiles the rest (npm run infra:check).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRecordField } from '../../shared/kernel/record-fields';

require('@kusto/language-service-next/bridge.min.js');
require('@kusto/language-service-next/Kusto.Language.Bridge.min.js');

interface KustoDiagnostics {
  Count: number;
  getItem(index: number): { Message: string };
}
const { KustoCode } = (
  globalThis as unknown as {
    Kusto: { Language: { KustoCode: { Parse(text: string): { GetDiagnostics(): KustoDiagnostics } } } };
  }
).Kusto.Language;

const ROOT = join(__dirname, '..', '..');
const readJson = (path: string) => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));

/** The Bicep fills the rule's placeholders (infra/modules/observability.bicep); a number stands in. */
const PLACEHOLDERS = { '{escalationMinutes}': '60' };

/** Every `query` in a workbook's items, however deeply nested (groups hold items too). */
function workbookQueries(node: unknown, name = 'workbook'): [string, string][] {
  if (Array.isArray(node)) return node.flatMap((item) => workbookQueries(item, name));
  if (typeof node !== 'object' || node === null) return [];
  const record = node as Record<string, unknown>;
  const here = typeof record.name === 'string' ? `workbook ${record.name}` : name;
  const own: [string, string][] = typeof record.query === 'string' ? [[here, record.query]] : [];
  return [...own, ...Object.values(record).flatMap((value) => workbookQueries(value, here))];
}

function ruleQueries(): [string, string][] {
  const rules = readJson('infra/alert-rules.json') as Record<string, { query: string }>;
  return Object.entries(rules).map(([name, rule]) => [
    `alert rule ${name}`,
    Object.entries(PLACEHOLDERS).reduce((text, [key, value]) => text.replaceAll(key, value), rule.query),
  ]);
}

function syntaxErrors(query: string): string[] {
  const diagnostics = KustoCode.Parse(query).GetDiagnostics();
  return Array.from({ length: diagnostics.Count }, (_, i) => diagnostics.getItem(i).Message);
}

/** What a query gets wrong: syntax, a record field outside the contract, a field read from customDimensions. */
function problems(query: string): string[] {
  const found = syntaxErrors(query);
  if (!/\| extend r = parse_json\(message\)/.test(query))
    found.push('does not read records as `extend r = parse_json(message)`');
  for (const [, path] of query.matchAll(/\br((?:\.[A-Za-z_]\w*)+)/g))
    if (!isRecordField(path.slice(1))) found.push(`unknown record field ${path.slice(1)}`);
  // Records are in the message (docs/decisions/0019-records-through-the-invocation-context.md).
  for (const [field] of query.matchAll(/\bcustomDimensions(?:\.\w+|\[[^\]]*\])/g))
    found.push(`reads ${field}: the records' fields are in the message`);
  return found;
}

const queries = [...workbookQueries(readJson('infra/workbook.json')), ...ruleQueries()];

describe('the KQL of the workbook and the alert rules', () => {
  it('covers every panel and rule', () => {
    expect(queries.map(([name]) => name)).toEqual([
      'workbook isolations-over-time',
      'workbook time-to-isolate',
      'workbook escalations-waiting',
      'workbook failures-by-reason',
      'workbook quota-and-429s',
      'workbook isolated-now',
      'alert rule dead-letter',
      'alert rule rate-limited',
      'alert rule breaker-open',
      'alert rule escalation-waiting',
    ]);
  });

  it.each(queries)('%s parses and reads only contract fields', (_name, query) => {
    expect(problems(query)).toEqual([]);
  });

  it('fails a query naming an unknown field, a customDimensions field or broken syntax', () => {
    const base = 'traces\n| extend r = parse_json(message)\n';
    expect(problems(`${base}| where tostring(r.outcom) == "failed"`)).toEqual([
      'unknown record field outcom',
    ]);
    expect(problems(`${base}| where tostring(r.timings.receivedMs) > 0`)).toEqual([
      'unknown record field timings.receivedMs',
    ]);
    expect(problems(`${base}| where tostring(customDimensions.requestId) != ""`)).toEqual([
      "reads customDimensions.requestId: the records' fields are in the message",
    ]);
    expect(problems(`${base}| where (r.event == `)).not.toEqual([]);
  });
});
