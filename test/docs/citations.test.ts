/**
 * Code, scripts and infrastructure cite the docs by file and section (`docs/mde-api.md §7.3`,
 * `docs/guide/cli.md "Exit codes"`): every cited file exists and holds the cited section, so moving or
 * renaming a section shows here instead of leaving a comment or an error message pointing nowhere.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { headingsOf } from '../tools/markdown-links';

const ROOT = join(__dirname, '..', '..');
const SOURCE_FOLDERS = ['shared', 'functions', 'cli', 'simulator', 'test', 'scripts', 'infra', '.ci'];
const SOURCE_FILES = ['azure.yaml', 'package.json', 'host.json', 'local.settings.sample.json'];
/** This suite's own folder holds made-up citations of made-up pages. */
const SKIPPED = ['test/docs/'];
const CITATION = /docs\/[\w./-]+\.md(?:,? (§\d+(?:\.\d+)*[a-z]?)|,? "([^"\n]+)")?/g;

interface Citation {
  file: string;
  doc: string;
  section: string | undefined;
}

function sourceFiles(): string[] {
  const found: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) found.push(path);
    }
  };
  for (const folder of SOURCE_FOLDERS) walk(join(ROOT, folder));
  return [...found, ...SOURCE_FILES.map((file) => join(ROOT, file))]
    .map((path) => relative(ROOT, path))
    .filter((file) => !SKIPPED.some((skipped) => file.startsWith(skipped)) && !file.endsWith('.md'));
}

function citations(): Citation[] {
  return sourceFiles().flatMap((file) =>
    [...readFileSync(join(ROOT, file), 'utf8').matchAll(CITATION)].map((match) => ({
      file,
      doc: match[0].replace(/\.md.*$/s, '.md'),
      section: match[1] ?? match[2],
    })),
  );
}

const documents = new Map<string, { text: string; headings: string[] }>();

/** A section is a heading (`§7.3 …` by number, else by its text) or a bold label opening a paragraph. */
function holds(doc: string, section: string): boolean {
  let document = documents.get(doc);
  if (document === undefined) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    document = { text, headings: headingsOf(text) };
    documents.set(doc, document);
  }
  const { text, headings } = document;
  if (section.startsWith('§'))
    return headings.some((heading) => new RegExp(`^${section}[.\\s]`).test(heading));
  return headings.includes(section) || text.includes(`**${section}.**`) || text.includes(`**${section}**`);
}

describe('citations of the docs in code, scripts and infrastructure', () => {
  const all = citations();

  it('are found, the guide pages among them', () => {
    expect(all.map(({ doc }) => doc)).toEqual(
      expect.arrayContaining(['docs/mde-api.md', 'docs/architecture.md', 'docs/guide/cli.md']),
    );
  });

  it('name a file that exists and a section it holds', () => {
    const broken = all
      .filter(
        ({ doc, section }) => !existsSync(join(ROOT, doc)) || (section !== undefined && !holds(doc, section)),
      )
      .map(({ file, doc, section }) => `${file}: ${doc}${section === undefined ? '' : ` ${section}`}`);
    expect(broken).toEqual([]);
  });
});
