/** Every link in the repository's Markdown leads somewhere (test/tools/markdown-links.ts), checked offline. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { anchorsOf, checkLinks, markdownFiles } from '../tools/markdown-links';

const ROOT = join(__dirname, '..', '..');

describe("the repository's Markdown", () => {
  it('is all found, the front door and the guide included', () => {
    expect(markdownFiles(ROOT)).toEqual(
      expect.arrayContaining([
        'README.md',
        'SECURITY.md',
        'CONTRIBUTING.md',
        'docs/README.md',
        'docs/guide/README.md',
        'docs/architecture.md',
      ]),
    );
    expect(markdownFiles(ROOT).filter((file) => file.includes('node_modules/'))).toEqual([]);
  });

  it('has no broken link or anchor', () => {
    expect(checkLinks(ROOT)).toEqual([]);
  });
});

describe('anchors, as GitHub slugs headings', () => {
  it('drop punctuation and code marks and turn spaces into hyphens', () => {
    expect(
      anchorsOf('## Sending alerts: `POST /api/alerts`\n### 2. Publish the code\n# Où_va-t-il ?\n'),
    ).toEqual(new Set(['sending-alerts-post-apialerts', '2-publish-the-code', 'où_va-t-il-']));
  });

  it('number repeated headings in order', () => {
    expect(anchorsOf('## Examples\n## Examples\n## Examples-1\n## Examples\n')).toEqual(
      new Set(['examples', 'examples-1', 'examples-1-1', 'examples-2']),
    );
  });

  it('come from headings only, not from code blocks, and from explicit HTML anchors', () => {
    expect(anchorsOf('```bash\n# a comment\n```\n<a id="kept"></a>\n## Real\n')).toEqual(
      new Set(['kept', 'real']),
    );
  });
});

describe('the checker', () => {
  let root: string;
  const write = (files: Record<string, string>): void => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
  };
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'md-links-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('accepts links to files, folders, headings of other pages and lines of source files', () => {
    write({
      'README.md':
        '[guide](docs/guide/README.md#tasks) [docs](docs) [code](src/a.ts#L3) [top](#front-door)\n# Front door\n',
      'docs/guide/README.md': '# Guide\n## Tasks\n[back](../../README.md#front-door) [page](page.md#a-b)\n',
      'docs/guide/page.md': '# A: `b`\n',
      'src/a.ts': 'export {};\n',
      'docs/README.md': '[guide by folder](guide#tasks)\n',
    });
    expect(checkLinks(root)).toEqual([]);
  });

  it('reports a broken anchor, in the same page and in another', () => {
    write({
      'README.md': '# Title\n\nSee [this](#titel) and\n[that](docs/page.md#nowhere).\n',
      'docs/page.md': '# Somewhere\n',
    });
    expect(checkLinks(root)).toEqual([
      { file: 'README.md', line: 3, link: '#titel', why: 'no heading #titel in README.md' },
      {
        file: 'README.md',
        line: 3,
        link: 'docs/page.md#nowhere',
        why: 'no heading #nowhere in docs/page.md',
      },
    ]);
  });

  it('reports a missing file, a link out of the repository and a malformed external link', () => {
    write({
      'README.md':
        '[gone](docs/gone.md) [out](../elsewhere.md) [bad](https://exa%20mple.com/) [ftp](ftp://host.example/f)\n',
    });
    expect(checkLinks(root).map(({ link, why }) => [link, why])).toEqual([
      ['docs/gone.md', 'no such file or folder: docs/gone.md'],
      ['../elsewhere.md', 'points outside the repository'],
      ['https://exa%20mple.com/', 'not a valid URL'],
      ['ftp://host.example/f', 'scheme ftp: is not a web or mail link'],
    ]);
  });

  it('ignores what only looks like a link: code spans and code blocks', () => {
    write({ 'README.md': '`[a](#nowhere)`\n\n```md\n[b](missing.md)\n```\n' });
    expect(checkLinks(root)).toEqual([]);
  });
});
