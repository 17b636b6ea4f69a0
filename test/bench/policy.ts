/**
 * Policy throughput: decisions per second for a 50-rule policy over a mixed alert batch, both stages
 * (intake for every alert, the worker's device stage where intake asks for it); and the worst case of
 * one hostile alert whose megabyte title repeats a pattern's words, which must not stall the process;
 * and the worst title patterns the validator admits against a 1,000-alert body of hostile titles.
 */
import type { NormalizedAlert, Severity } from '../../shared/alerts/model';
import type { Machine } from '../../shared/mde/types';
import type { PolicyDocument, RuleSpec } from '../../shared/policy/document';
import { createPolicy } from '../../shared/policy/engine';
import {
  globMatchCost,
  MATCHED_PREFIX_LENGTH,
  MAX_PATTERN_LENGTH,
  MAX_POLICY_MATCH_COST,
} from '../../shared/policy/glob';
import { formatProblem, validatePolicy } from '../../shared/policy/validate';

const SEVERITIES: Severity[] = ['informational', 'low', 'medium', 'high'];
const CATEGORIES = [
  'Ransomware',
  'CredentialAccess',
  'Execution',
  'LateralMovement',
  'Malware',
  'InitialAccess',
];
const PLATFORMS = ['Windows10', 'Windows11', 'WindowsServer2019', 'WindowsServer2022', 'Linux', 'macOS'];

/** 50 rules mixing alert-only and device conditions, globs and lists, with a catch-all last. */
function fiftyRulePolicy(): PolicyDocument {
  const rules: RuleSpec[] = Array.from({ length: 49 }, (_, i) => ({
    name: `rule-${i}`,
    minSeverity: SEVERITIES[i % 4],
    categories: [CATEGORIES[i % CATEGORIES.length], `Custom${i}`],
    ...(i % 3 === 0 && { mitreTechniques: [`T1${String(i).padStart(3, '0')}`, 'T1486'] }),
    ...(i % 4 === 0 && { title: `*pattern ${i}*` }),
    ...(i % 2 === 0 && { osPlatforms: [PLATFORMS[i % PLATFORMS.length], 'Windows1*'] }),
    ...(i % 5 === 0 && { hostnames: [`host-${i}-*`, '*-ws-*'], tags: [`tag-${i}`] }),
    ...(i % 7 === 0 && { minRiskScore: 'Medium' as const }),
    action: (['isolate', 'escalate', 'skip'] as const)[i % 3],
  }));
  rules.push({ name: 'rest', minSeverity: 'high', action: 'escalate' });
  const document: PolicyDocument = {
    version: 'bench-1',
    mode: 'dry-run',
    protections: [
      { name: 'dcs', tags: ['DomainController'], hostnames: ['dc[0-9]*', '*-dc[0-9]*'] },
      { name: 'infra', tags: ['DNS*', 'DHCP*', 'Proxy*'], deviceGroups: ['Tier 0*'] },
    ],
    rules,
    // Large limits: the benchmark measures evaluation, not the breaker escalating everything.
    blastRadius: { maxDevicesPerAlert: 10, maxIsolations: 1_000_000, windowMinutes: 60 },
  };
  const result = validatePolicy(document);
  if (!result.valid) throw new Error(result.errors.map(formatProblem).join('\n'));
  return result.policy;
}

function mixedBatch(size: number): { alert: NormalizedAlert; machines: Machine[] }[] {
  return Array.from({ length: size }, (_, i) => {
    const devices = Array.from({ length: 1 + (i % 3) }, (_, d) => ({
      mdeDeviceId: (i * 7 + d).toString(16).padStart(40, '0'),
      fqdn: `${d === 2 ? 'dc' : 'fin-ws-'}${i}${d}.corp.example`,
    }));
    return {
      alert: {
        source: i % 2 ? 'graph-alert' : 'sentinel-incident',
        alertId: `alert-${i}`,
        incidentId: String(i),
        incidentArmId: null,
        title: `Suspicious pattern ${i % 60} on endpoint`,
        severity: SEVERITIES[i % 4],
        firing: i % 10 !== 0,
        categories: [CATEGORIES[i % CATEGORIES.length]],
        mitreTechniques: i % 5 === 0 ? ['T1486.001'] : ['T1059'],
        devices,
      },
      machines: devices.map((device, d) => ({
        id: device.mdeDeviceId,
        computerDnsName: device.fqdn,
        lastSeen: '2026-11-28T00:00:00Z',
        osPlatform: PLATFORMS[(i + d) % PLATFORMS.length],
        version: '22H2',
        healthStatus: 'Active',
        riskScore: 'High',
        machineTags: d === 1 ? ['DomainController'] : [],
      })),
    };
  });
}

export async function run(): Promise<void> {
  const policy = createPolicy(fiftyRulePolicy());
  const batch = mixedBatch(2_000);
  const pass = () => {
    let decisions = 0;
    for (const { alert, machines } of batch) {
      const intake = policy.decideAlert(alert);
      decisions += intake.length;
      intake.forEach((decision, d) => {
        if (!decision.needsDeviceCheck) return;
        policy.decideDevice(alert, decision.device, machines[d]);
        decisions += 1;
      });
    }
    return decisions;
  };
  pass(); // warm-up: JIT and compiled globs
  const rounds = 5;
  const started = process.hrtime.bigint();
  let decisions = 0;
  for (let round = 0; round < rounds; round++) decisions += pass();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `policy: ${decisions} decisions (50 rules, ${batch.length} mixed alerts × ${rounds}, intake + device stage) ` +
      `in ${seconds.toFixed(2)} s = ${Math.round(decisions / seconds).toLocaleString('en-US')} decisions/s`,
  );
  hostileTitle();
  hostilePolicy();
}

function hostileTitle(): void {
  const result = validatePolicy({
    version: 'bench-hostile',
    mode: 'dry-run',
    rules: [{ name: 'ransom-words', title: '*ransom*ware*note*', action: 'escalate' }],
  });
  if (!result.valid) throw new Error(result.errors.map(formatProblem).join('\n'));
  const policy = createPolicy(result.policy);
  const [alert] = mixedBatch(1).map((entry) => entry.alert);
  const title = 'ransom '.repeat(150_000);
  const started = process.hrtime.bigint();
  policy.decideAlert({ ...alert, firing: true, title });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(
    `policy: one alert with a ${(title.length / 1e6).toFixed(2)} MB hostile title decided in ${ms.toFixed(1)} ms`,
  );
}

/**
 * As many title rules as the policy-wide bound admits, each pattern as long as allowed: a leading `*`
 * and text the titles almost match, so every state of every pattern stays live over the whole matched
 * prefix of each title. The body's time, and the longest decision: how long the event loop is held.
 */
function hostilePolicy(): void {
  const pattern = `*${'a'.repeat(MAX_PATTERN_LENGTH - 2)}b`;
  const rules = Array.from(
    { length: Math.floor(MAX_POLICY_MATCH_COST / globMatchCost([pattern])) },
    (_, i) => ({
      name: `hostile-${i}`,
      title: pattern,
      action: 'escalate' as const,
    }),
  );
  const result = validatePolicy({ version: 'bench-hostile-policy', mode: 'dry-run', rules });
  if (!result.valid) throw new Error(result.errors.map(formatProblem).join('\n'));
  const policy = createPolicy(result.policy);
  const [alert] = mixedBatch(1).map((entry) => entry.alert);
  const alerts = 1_000;
  let longestMs = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < alerts; i++) {
    const title = `${'a'.repeat(MATCHED_PREFIX_LENGTH - 8)}${String(i).padStart(8, 'a')}`;
    const one = process.hrtime.bigint();
    policy.decideAlert({ ...alert, firing: true, title });
    longestMs = Math.max(longestMs, Number(process.hrtime.bigint() - one) / 1e6);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `policy: ${alerts} alerts with ${MATCHED_PREFIX_LENGTH}-character hostile titles against ${rules.length} title rules of ` +
      `${pattern.length}-character patterns (the most the validator admits) in ${seconds.toFixed(2)} s; longest decision ${longestMs.toFixed(1)} ms`,
  );
}
