import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../shared/config';
import { loadPolicy } from '../../shared/policy/load';
import { PolicyError } from '../../shared/policy/validate';
import { alertOf } from './builders';

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
});
