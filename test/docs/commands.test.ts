/**
 * The commands the README and the user guide tell people to run exist as written: npm scripts in
 * package.json, benchmarks in test/bench/run.ts, simulator options, `mde-isolator` verbs with the flags
 * their `--help` lists, and the repository paths they name. What cannot run here (az, azd, func, a
 * deployed app) is not checked; the curl examples are held to the API description by
 * test/functions/openapi.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliIn } from '../cli/run-cli';
import {
  COMMAND_DOCUMENTS,
  type DocumentedCommand,
  documentedCommands,
  flagsOf,
} from '../tools/doc-commands';
import { markdownFiles } from '../tools/markdown-links';

const ROOT = join(__dirname, '..', '..');
const commands = documentedCommands(
  ROOT,
  markdownFiles(ROOT).filter((file) => COMMAND_DOCUMENTS.test(file)),
);
const where = ({ file, line, command }: DocumentedCommand) => `${file}:${line}: ${command}`;
const SCRIPTS: Record<string, string> = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts;
/** npm's own commands, which need no script. */
const NPM_BUILTINS = new Set(['ci', 'install', 'link', 'ls']);

/** What follows `npm run NAME --` (or `npm NAME`), for the commands that run the script NAME. */
function npmRuns(name: string): { command: DocumentedCommand; args: string }[] {
  return commands.flatMap((command) => {
    const match = /^npm (?:run (\S+)|(test|start))(?: -- (.*))?$/.exec(command.command);
    return match !== null && (match[1] ?? match[2]) === name ? [{ command, args: match[3] ?? '' }] : [];
  });
}

/** The commands a `--help` lists under "Commands:" (commander's layout), without its own `help`. */
function commandsIn(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)]
    .map((match) => match[1])
    .filter((name) => name !== 'help');
}

describe('the commands of the README and the user guide', () => {
  it('are read from every page, the front door included', () => {
    const files = new Set(commands.map(({ file }) => file));
    expect([...files]).toEqual(
      expect.arrayContaining([
        'README.md',
        'docs/guide/cli.md',
        'docs/guide/deploying.md',
        'CONTRIBUTING.md',
      ]),
    );
    expect(commands.length).toBeGreaterThan(60);
  });

  it('run npm scripts package.json has', () => {
    const missing = commands
      .filter(({ command }) => /^npm \S/.test(command))
      .filter(({ command }) => {
        const [, first, second] = command.split(/\s+/);
        const script = first === 'run' ? second : first;
        return !NPM_BUILTINS.has(first) && !(script in SCRIPTS);
      })
      .map(where);
    expect(missing).toEqual([]);
  });

  it("of the README's quick start are run by CI", () => {
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    const quickStart = commands.filter(
      ({ file, command }) => file === 'README.md' && /^npm (test|run demo)$/.test(command),
    );
    expect(new Set(quickStart.map(({ command }) => command))).toEqual(new Set(['npm run demo', 'npm test']));
    expect(quickStart.filter(({ command }) => !new RegExp(`^${command}$`, 'm').test(ci)).map(where)).toEqual(
      [],
    );
  });

  it('name benchmarks test/bench/run.ts has', () => {
    const runner = readFileSync(join(ROOT, 'test', 'bench', 'run.ts'), 'utf8');
    const runs = npmRuns('bench');
    expect(runs.length).toBeGreaterThan(5);
    const unknown = runs.filter(
      ({ args }) =>
        !/^<.*>$/.test(args.trim()) &&
        !new RegExp(`^\\s+'?${args.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'?: `, 'm').test(runner),
    );
    expect(unknown.map(({ command }) => where(command))).toEqual([]);
  });

  it("pass the simulator options it has, and the demo's none", () => {
    const simulator = readFileSync(join(ROOT, 'simulator', 'main.ts'), 'utf8');
    const unknown = npmRuns('simulator').flatMap(({ command, args }) =>
      flagsOf(args)
        .filter((flag) => !simulator.includes(`'${flag} `))
        .map((flag) => `${where(command)} (${flag})`),
    );
    expect(unknown).toEqual([]);
    expect(npmRuns('demo').filter(({ args }) => args !== '')).toEqual([]);
  });

  const cli = commands.filter(({ command }) => /^(npx )?mde-isolator [a-z]/.test(command));

  it('name mde-isolator verbs with the flags their --help lists', async () => {
    expect(cli.length).toBeGreaterThan(25);
    const run = cliIn(ROOT, {});
    const verbs = commandsIn((await run('--help')).stdout);
    expect(verbs).toEqual(expect.arrayContaining(['isolate', 'release', 'doctor']));
    const problems: string[] = [];
    for (const command of cli) {
      const words = command.command.replace(/^npx /, '').split(/\s+/).slice(1);
      const verb = words[0];
      if (!verbs.includes(verb)) {
        problems.push(`${where(command)}: no verb ${verb}`);
        continue;
      }
      const verbHelp = await run(verb, '--help');
      // A verb with subcommands (breaker status, breaker reset) documents its flags on the subcommand.
      const subcommands = commandsIn(verbHelp.stdout);
      const sub = subcommands.length > 0 ? words[1] : undefined;
      if (sub !== undefined && !subcommands.includes(sub)) {
        problems.push(`${where(command)}: no command ${verb} ${sub}`);
        continue;
      }
      const help = sub === undefined ? verbHelp : await run(verb, sub, '--help');
      for (const flag of flagsOf(words.slice(sub === undefined ? 1 : 2).join(' '))) {
        if (!new RegExp(`(^|[\\s,])${flag}([\\s,]|$)`, 'm').test(help.stdout)) {
          problems.push(`${where(command)}: ${[verb, sub].filter(Boolean).join(' ')} has no ${flag}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('name repository paths that exist', () => {
    const missing = commands.flatMap((command) =>
      [
        ...command.command.matchAll(
          /(?:^|[\s=@'"])((?:infra|scripts|shared|test|docs|simulator|cli|functions)\/[^\s'"]*)/g,
        ),
      ]
        .map((match) => match[1].replace(/\/?[^/]*[*?].*$/, ''))
        .filter((path) => !existsSync(join(ROOT, path)))
        .map((path) => `${where(command)} (${path})`),
    );
    expect(missing).toEqual([]);
  });
});
