/**
 * An offline link checker for the repository's Markdown, run by `npm test` (test/docs/links.test.ts).
 * Relative links must name a file or folder of the repository and their `#anchors` a heading of the
 * target, slugged as GitHub slugs headings; external links are checked for syntax only, since CI has no
 * network but the package registries.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import MarkdownIt from 'markdown-it';

export interface LinkProblem {
  /** The Markdown file, relative to the root, with `/` separators. */
  file: string;
  line: number;
  link: string;
  why: string;
}

/** Folders that hold no documentation of this repository: dependencies, build output, VCS data. */
const SKIPPED_FOLDERS = new Set(['node_modules', '.git', 'dist', 'coverage', '.deploy']);
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
/** GitHub's links to lines of a source file (`file.ts#L10`, `#L10-L20`). */
const LINE_ANCHOR = /^L\d+(-L\d+)?$/;
/** What GitHub keeps of a heading in its anchor: letters, marks, digits, `_`, spaces and hyphens. */
const NOT_IN_SLUG = /[^\p{L}\p{M}\p{N}\p{Pc} -]/gu;

/** The token types that link somewhere, and the attribute that says where. */
const LINK_ATTRIBUTES = new Map([
  ['link_open', 'href'],
  ['image', 'src'],
]);

const markdown = new MarkdownIt({ html: true });
type Token = ReturnType<typeof markdown.parse>[number];

/** Every Markdown file under root, as sorted root-relative paths with `/` separators. */
export function markdownFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) walk(join(folder, entry.name));
      } else if (entry.isFile() && entry.name.toLowerCase().endsWith('.md')) {
        found.push(relative(root, join(folder, entry.name)).split(sep).join('/'));
      }
    }
  };
  walk(root);
  return found.sort();
}

/** The text of every heading of a document, without markup, in order. */
export function headingsOf(text: string): string[] {
  const tokens = markdown.parse(text, {});
  return tokens.flatMap((token, i) => (token.type === 'heading_open' ? [textOf(tokens[i + 1])] : []));
}

/**
 * The anchors GitHub gives a document's headings: the heading's text, lower-cased, without punctuation,
 * spaces turned into hyphens; a repeated slug gets `-1`, `-2`, … in order. Explicit HTML anchors
 * (`<a id="…">`, `<a name="…">`) count too.
 */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const repeats = new Map<string, number>();
  for (const heading of headingsOf(text)) {
    const base = heading.toLowerCase().replace(NOT_IN_SLUG, '').replace(/ /g, '-');
    let slug = base;
    while (anchors.has(slug)) {
      const count = (repeats.get(base) ?? 0) + 1;
      repeats.set(base, count);
      slug = `${base}-${count}`;
    }
    anchors.add(slug);
  }
  for (const token of markdown.parse(text, {})) {
    for (const html of htmlOf(token)) {
      for (const match of html.matchAll(/<a\s[^>]*\b(?:id|name)\s*=\s*["']([^"']+)["']/gi))
        anchors.add(match[1]);
    }
  }
  return anchors;
}

/** The problems of every link in the given Markdown files (all under root by default). */
export function checkLinks(root: string, files: string[] = markdownFiles(root)): LinkProblem[] {
  const anchorCache = new Map<string, Set<string>>();
  const anchorsAt = (path: string): Set<string> => {
    let anchors = anchorCache.get(path);
    if (anchors === undefined) {
      anchors = anchorsOf(readFileSync(path, 'utf8'));
      anchorCache.set(path, anchors);
    }
    return anchors;
  };
  const problems: LinkProblem[] = [];
  for (const file of files) {
    const path = join(root, file);
    for (const { link, line } of linksOf(readFileSync(path, 'utf8'))) {
      const why = problemOf(link, root, path, anchorsAt);
      if (why !== null) problems.push({ file, line, link, why });
    }
  }
  return problems;
}

function problemOf(
  link: string,
  root: string,
  from: string,
  anchorsAt: (path: string) => Set<string>,
): string | null {
  const scheme = SCHEME.exec(link)?.[1].toLowerCase();
  if (scheme !== undefined) return externalProblem(link, scheme);
  const hash = link.indexOf('#');
  const pathPart = decode((hash < 0 ? link : link.slice(0, hash)).replace(/\?.*$/, ''));
  const anchor = hash < 0 ? null : decode(link.slice(hash + 1));
  if (pathPart === null || (hash >= 0 && anchor === null)) return 'not a valid percent-encoded link';
  // An empty path is the page itself; a leading `/` starts at the repository's root, as on GitHub.
  const base = pathPart.startsWith('/') ? root : dirname(from);
  const target = pathPart === '' ? from : resolve(base, pathPart.replace(/^\/+/, ''));
  if (relative(root, target).startsWith('..')) return 'points outside the repository';
  if (!existsSync(target)) return `no such file or folder: ${relative(root, target).split(sep).join('/')}`;
  if (anchor === null || anchor === '') return null;
  // GitHub shows a folder's README.md, so an anchor into a folder is one into its README.
  const document = statSync(target).isDirectory() ? join(target, 'README.md') : target;
  if (extname(document).toLowerCase() !== '.md') {
    return LINE_ANCHOR.test(anchor) ? null : `#${anchor} on a file that is not Markdown`;
  }
  if (!existsSync(document)) return `#${anchor} into a folder without README.md`;
  return anchorsAt(document).has(anchor)
    ? null
    : `no heading #${anchor} in ${relative(root, document).split(sep).join('/')}`;
}

function externalProblem(link: string, scheme: string): string | null {
  if (scheme === 'mailto') return /^mailto:[^@\s]+@[^@\s]+$/i.test(link) ? null : 'not a mail address';
  if (scheme !== 'http' && scheme !== 'https') return `scheme ${scheme}: is not a web or mail link`;
  let host: string;
  try {
    host = new URL(link).hostname;
  } catch {
    return 'not a valid URL';
  }
  return host.includes('.') || host === 'localhost' ? null : 'no host name in the URL';
}

function linksOf(text: string): { link: string; line: number }[] {
  const links: { link: string; line: number }[] = [];
  for (const token of markdown.parse(text, {})) {
    const line = (token.map?.[0] ?? 0) + 1;
    for (const child of token.children ?? []) {
      const attribute = LINK_ATTRIBUTES.get(child.type);
      const link = attribute === undefined ? null : child.attrGet(attribute);
      if (link !== null) links.push({ link: String(link), line });
    }
    for (const html of htmlOf(token)) {
      for (const match of html.matchAll(/<(?:a|img)\s[^>]*\b(?:href|src)\s*=\s*["']([^"']+)["']/gi)) {
        links.push({ link: match[1], line });
      }
    }
  }
  return links;
}

/** The text GitHub reads a heading's anchor from: its text and code spans, without markup. */
function textOf(inline: Token | undefined): string {
  return (inline?.children ?? [])
    .map((child) => (child.type === 'text' || child.type === 'code_inline' ? child.content : ''))
    .join('');
}

function htmlOf(token: Token): string[] {
  if (token.type === 'html_block') return [token.content];
  return (token.children ?? []).filter((child) => child.type === 'html_inline').map((child) => child.content);
}

function decode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
