import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile, PolicyFileError } from '../../cli/policy-file';
import { ConfigError, loadConfig, MAX_POLICY_FILE_BYTES } from '../../shared/config';
import { loadPolicy } from '../../shared/policy/load';
import { PolicyError } from '../../shared/policy/validate';
import { alertOf } from '../support/alerts';

const EXAMPLE = join(__dirname, '../../shared/policy/examples/ransomware-auto-isolation.json');

describe('loadPolicy', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'policy-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the shipped default: dry run, with its version on every decision', () => {
    const policy = loadPolicy({ kind: 'default' }, null);
    expect(policy.mode).toBe('dry-run');
    expect(policy.decideAlert(alertOf())[0]).toMatchObject({
      mode: 'dry-run',
      policyVersion: policy.version,
    });
  });

  it('loads a policy file named by ISOLATION_POLICY, and ISOLATION_MODE overrides its mode', () => {
    const path = join(dir, 'policy.json');
    writeFileSync(path, readFileSync(EXAMPLE));
    const config = loadConfig({ ISOLATION_POLICY: path });
    expect(loadPolicy(config.policySource, config.modeOverride).mode).toBe('enforce');
    const overridden = loadConfig({ ISOLATION_POLICY: path, ISOLATION_MODE: 'dry-run' });
    const policy = loadPolicy(overridden.policySource, overridden.modeOverride);
    expect(policy.mode).toBe('dry-run');
    expect(policy.decideAlert(alertOf())[0].mode).toBe('dry-run');
  });

  it('lets ISOLATION_MODE enforce a dry-run policy', () => {
    const config = loadConfig({ ISOLATION_MODE: 'enforce' });
    expect(loadPolicy(config.policySource, config.modeOverride).mode).toBe('enforce');
  });

  it('loads inline JSON', () => {
    const text = JSON.stringify({
      version: 'inline-7',
      mode: 'enforce',
      rules: [{ name: 'all', action: 'escalate' }],
    });
    const policy = loadPolicy({ kind: 'inline', text }, null);
    expect(policy.decideAlert(alertOf())[0]).toMatchObject({
      action: 'escalate',
      rule: 'all',
      policyVersion: 'inline-7',
    });
  });

  it('fails with every problem, naming the file', () => {
    const path = join(dir, 'bad.json');
    const text = JSON.stringify({
      version: 'v',
      mode: 'enforce',
      rules: [{ name: 'r', action: 'nuke', severty: 'high' }],
    });
    writeFileSync(path, text);
    const load = () => loadPolicy({ kind: 'file', path, text }, null);
    expect(load).toThrow(PolicyError);
    expect(load).toThrow(
      `Invalid isolation policy (${path}, 2 problems):\n` +
        "  - /rules/0: unknown field 'severty' (did you mean 'minSeverity'?)\n" +
        '  - /rules/0/action: must be one of isolate, escalate, skip (got string "nuke")',
    );
  });

  it('reports JSON syntax errors as a policy problem', () => {
    const load = () => loadPolicy({ kind: 'inline', text: '{"version": "1",' }, null);
    expect(load).toThrow(PolicyError);
    expect(load).toThrow(/inline ISOLATION_POLICY, 1 problem\):\n {2}- \(policy\): not valid JSON: /);
  });

  it('keeps a JSON syntax problem on one line, whatever the parser quotes', () => {
    const text = '{"version": "1",\n  "mode": "enforce",\n  "rules": [\n    }\n  ]\n}';
    try {
      loadPolicy({ kind: 'inline', text }, null);
      throw new Error('expected a PolicyError');
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyError);
      const lines = (error as PolicyError).message.split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(/^ {2}- \(policy\): not valid JSON: \S/);
    }
  });

  describe('a policy path that names something else than a policy file', () => {
    /** The one ISOLATION_POLICY problem loadConfig reports for `path`. */
    const settingProblem = (path: string) => {
      try {
        loadConfig({ ISOLATION_POLICY: path });
      } catch (error) {
        if (error instanceof ConfigError) return error.problems.map((p) => `${p.setting}: ${p.message}`);
        throw error;
      }
      throw new Error('expected a ConfigError');
    };
    const cliProblem = (path: string) => {
      const io = { cwd: dir, stdout: process.stdout, stderr: process.stderr, env: {} };
      try {
        loadPolicyFile(io as never, path, null);
      } catch (error) {
        if (error instanceof PolicyFileError) return error.message;
        throw error;
      }
      throw new Error('expected a PolicyFileError');
    };

    // A FIFO once hung start-up forever (a blocking read nobody writes to), /dev/zero never ended.
    it.each([
      [
        'a FIFO',
        () => {
          const fifo = join(dir, 'policy.fifo');
          execFileSync('mkfifo', [fifo]);
          return fifo;
        },
        'not a regular file',
      ],
      ['/dev/zero', () => '/dev/zero', 'not a regular file'],
      ['a directory', () => dir, 'not a regular file'],
      [
        'a file over the size limit',
        () => {
          const big = join(dir, 'big.json');
          writeFileSync(big, `{"version": "1", "pad": "${'x'.repeat(MAX_POLICY_FILE_BYTES)}"}`);
          return big;
        },
        `larger than ${MAX_POLICY_FILE_BYTES} bytes`,
      ],
    ])('refuses %s at once, as a setting and as --policy', (_what, make, reason) => {
      const path = make();
      expect(settingProblem(path)).toEqual([
        expect.stringContaining(`ISOLATION_POLICY: cannot read policy file "${path}" (${reason})`),
      ]);
      expect(cliProblem(path)).toContain(`(${reason})`);
    });

    it.each([
      [
        '{\n  "version": "1",\n  "apiKey": "SECRET-7f3a",\n  "mode": }',
        'an unexpected character where a value was expected',
      ],
      [
        '{\n  "apiKey": "SECRET-7f3a" "mode": "enforce"}',
        "expected ',' or '}' after a property value, at line 2 column 27",
      ],
      ['SECRET-7f3a', 'an unexpected character where a value was expected'],
      ['{"apiKey": "SECRET-7f3a"', "expected ',' or '}' after a property value, at line 1 column 25"],
    ])(
      'reports a syntax error in %j by position and expectation, never quoting the text',
      (text, expected) => {
        const path = join(dir, 'not-a-policy.json');
        writeFileSync(path, text);
        const config = loadConfig({ ISOLATION_POLICY: path });
        const load = () => loadPolicy(config.policySource, null);
        expect(load).toThrow(PolicyError);
        expect(load).toThrow(`(${path}, 1 problem):\n  - (policy): not valid JSON: ${expected}`);
        expect(load).not.toThrow(/SECRET|apiKey/);
      },
    );
  });
});
