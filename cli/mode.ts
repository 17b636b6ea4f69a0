/**
 * The mode a dispatching verb runs in and where it came from, printed before the first POST so an
 * operator never enforces by accident: `--enforce` / `--dry-run`, else ISOLATION_MODE, else the
 * policy's own mode (the `--policy` file, ISOLATION_POLICY, or the shipped default).
 */
import type { PolicySource } from '../shared/config';
import type { PolicyMode } from '../shared/kernel/vocabulary';
import type { StateStorage } from '../shared/state/settings';

export interface ModeFlags {
  enforce?: boolean;
  dryRun?: boolean;
}

export interface ModeChoice {
  /** The mode the flags or ISOLATION_MODE force on the policy; null: the policy's own. */
  override: PolicyMode | null;
  /** Where an override came from; null: from the policy. */
  source: string | null;
}

/** The forced mode, or why the flags contradict each other. */
export function modeChoice(flags: ModeFlags, settingOverride: PolicyMode | null): ModeChoice | string {
  if (flags.enforce && flags.dryRun) return 'give at most one of --enforce and --dry-run';
  if (flags.enforce) return { override: 'enforce', source: '--enforce' };
  if (flags.dryRun) return { override: 'dry-run', source: '--dry-run' };
  if (settingOverride) return { override: settingOverride, source: `ISOLATION_MODE=${settingOverride}` };
  return { override: null, source: null };
}

/** Where the policy came from, in words. */
export function policyOrigin(policyFile: string | undefined, source: PolicySource): string {
  if (policyFile) return `--policy ${policyFile}`;
  if (source.kind === 'file') return `ISOLATION_POLICY=${source.path}`;
  if (source.kind === 'inline') return 'ISOLATION_POLICY (inline JSON)';
  return 'the shipped default policy';
}

/** `ENFORCE` stands out on purpose: it is the mode that posts isolations. */
export function modeWord(mode: PolicyMode): string {
  return mode === 'enforce' ? 'ENFORCE' : 'dry-run';
}

/** Where the register and breaker live, for the first line of every verb that uses them. */
export function storageWords(kind: StateStorage['kind']): string {
  return kind === 'embedded'
    ? "local store: this process's own breaker and register (AzureWebJobsStorage shares the app's)"
    : `shared store: the app's breaker and register (${kind === 'identity' ? 'AzureWebJobsStorage__tableServiceUri' : 'AzureWebJobsStorage'})`;
}

/** The first line of a dispatching verb: mode and its source, policy and version, store. */
export function headerLine(
  mode: PolicyMode,
  choice: ModeChoice,
  policy: { version: string; origin: string },
  storage: StateStorage['kind'],
): string {
  const from = choice.source ? `from ${choice.source}` : 'from the policy';
  return `${modeWord(mode)} (${from}); policy ${policy.version} (${policy.origin}); ${storageWords(storage)}\n`;
}
