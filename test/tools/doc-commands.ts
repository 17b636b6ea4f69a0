/**
 * The shell commands the README and the user guide tell people to run, read from their code blocks, so
 * tests can hold each one to what the repository has (test/docs/commands.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import MarkdownIt from 'markdown-it';

export interface DocumentedCommand {
  /** The Markdown file, relative to the root. */
  file: string;
  line: number;
  /** One simple command: no prompt, no comment, no `&&` or `|` neighbours, continuation lines joined. */
  command: string;
}

/** The documents whose commands a reader runs: the front door, the contributor's guide, the user guide. */
export const COMMAND_DOCUMENTS = /^(README\.md|CONTRIBUTING\.md|docs\/guide\/[^/]+\.md)$/;

const SHELL_BLOCKS = new Set(['bash', 'sh', 'shell', 'console']);
/** In a block without a language (output, a synopsis), only lines that read as a command typed at a prompt. */
const PROMPTED = /^(\$ |npx |npm |mde-isolator [a-z])/;
const markdown = new MarkdownIt();

/**
 * The commands in the shell code blocks of the given root-relative Markdown files, and the inline code
 * that reads as a command (`npm run bench -- parse` in a table).
 */
export function documentedCommands(root: string, files: string[]): DocumentedCommand[] {
  return files.flatMap((file) =>
    markdown.parse(readFileSync(join(root, file), 'utf8'), {}).flatMap((token) => {
      const firstLine = (token.map?.[0] ?? 0) + 1;
      if (token.type === 'fence') {
        return commandsOfBlock(token.content, token.info.trim(), firstLine + 1).map((command) => ({
          file,
          ...command,
        }));
      }
      return (token.children ?? [])
        .filter((child) => child.type === 'code_inline' && PROMPTED.test(child.content))
        .flatMap((child) =>
          simpleCommands(child.content).map((command) => ({ file, line: firstLine, command })),
        );
    }),
  );
}

function commandsOfBlock(
  content: string,
  language: string,
  firstLine: number,
): Omit<DocumentedCommand, 'file'>[] {
  const shell = SHELL_BLOCKS.has(language);
  if (!shell && language !== '') return [];
  const commands: Omit<DocumentedCommand, 'file'>[] = [];
  const lines = content.split('\n');
  let heredocEnd: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = firstLine + i;
    let text = lines[i];
    if (heredocEnd !== null) {
      if (text.trim() === heredocEnd) heredocEnd = null;
      continue;
    }
    if (!shell && !PROMPTED.test(text.trim())) continue;
    while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1)} ${lines[++i].trim()}`;
    heredocEnd = /<<-?'?"?(\w+)/.exec(text)?.[1] ?? null;
    for (const command of simpleCommands(withoutComment(text.trim().replace(/^\$ /, '')))) {
      commands.push({ line, command });
    }
  }
  return commands;
}

/** The line without a trailing `# comment` (a `#` after a space, outside quotes). */
function withoutComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quote !== null) {
      if (char === quote) quote = null;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      return text.slice(0, i).trim();
    }
  }
  return text;
}

/**
 * The simple commands of a line joined by `&&`, `||`, `;` or ` | `, outside quotes and outside a
 * synopsis's brackets (`[--enforce | --dry-run]`).
 */
function simpleCommands(text: string): string[] {
  const parts: string[] = [];
  let quote: string | null = null;
  let brackets = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quote !== null) {
      if (char === quote) quote = null;
      continue;
    }
    if (char === '"' || char === "'") quote = char;
    if (char === '[') brackets++;
    if (char === ']') brackets = Math.max(0, brackets - 1);
    const separator = brackets > 0 ? undefined : /^(&&|\|\||;| \| )/.exec(text.slice(i))?.[0];
    if (separator !== undefined) {
      parts.push(text.slice(start, i));
      start = i + separator.length;
      i = start - 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

/** The flags a command line names (`--name`, `-x`), synopsis brackets and alternatives included. */
export function flagsOf(words: string): string[] {
  const unquoted = words.replace(/"[^"]*"|'[^']*'/g, '""');
  return [...unquoted.matchAll(/(?:^|[\s[|])(--?[A-Za-z][\w-]*)/g)].map((match) => match[1]);
}
