/**
 * Rule and protection conditions, compiled once at load. Each condition says whether it holds and
 * why, so every decision can be explained; device conditions answer "unknown" until the machine
 * record is there (stage 1, at intake).
 */
import { type DeviceRef, type NormalizedAlert, severityRank } from '../alerts/model';
import { oneLine } from '../kernel/text';
import type { Machine } from '../mde/types';
import {
  ALERT_CONDITION_KEYS,
  DEVICE_CONDITION_KEYS,
  EXPOSURE_LEVELS,
  type ProtectionSpec,
  RISK_SCORES,
  type RuleSpec,
} from './document';
import { compileGlobs } from './glob';

/** Names, tags and groups quoted in a reason: one line, short (they may come from an alert). */
const quote = (value: string) => oneLine(value, 80);

/** `why` is computed only when asked: most checks are never explained, and strings cost. */
export interface Check {
  holds: boolean;
  why: () => string;
}
type AlertTest = (alert: NormalizedAlert) => Check;
type DeviceTest = (machine: Machine) => Check;

export type Verdict = 'match' | 'miss' | 'unknown';
export interface Evaluation {
  verdict: Verdict;
  why: () => string;
}

const normalizeCategory = (category: string) => category.toLowerCase().replace(/[\s_-]+/g, '');

/** Full name and first label, so `dc*` matches `dc01` and `dc01.corp.example` alike. */
function namesOf(...names: (string | null | undefined)[]): string[] {
  const all = names.filter((n): n is string => !!n).flatMap((n) => [n, n.split('.')[0]]);
  return [...new Set(all.map((n) => n.toLowerCase()))];
}

/** A device test that holds when any of the values matches any of the patterns. */
function anyOf(
  label: string,
  patterns: string[] | undefined,
  valuesOf: (m: Machine) => readonly string[],
): DeviceTest | null {
  if (!patterns) return null;
  const match = compileGlobs(patterns);
  return (machine) => {
    const values = valuesOf(machine);
    return {
      holds: values.some(match),
      why: () => `${label} ${values.length ? values.join(', ') : '(none)'} vs ${patterns.join(', ')}`,
    };
  };
}

function compileAlertTest(key: (typeof ALERT_CONDITION_KEYS)[number], rule: RuleSpec): AlertTest | null {
  switch (key) {
    case 'minSeverity': {
      const min = rule.minSeverity;
      if (!min) return null;
      const minRank = severityRank(min);
      return (alert) => ({
        holds: severityRank(alert.severity) >= minRank,
        why: () => `severity ${alert.severity} ${severityRank(alert.severity) >= minRank ? '≥' : '<'} ${min}`,
      });
    }
    case 'sources': {
      const sources = rule.sources;
      if (!sources) return null;
      return (alert) => ({
        holds: sources.includes(alert.source),
        why: () =>
          `source ${alert.source} ${sources.includes(alert.source) ? 'in' : 'not in'} ${sources.join(', ')}`,
      });
    }
    case 'categories': {
      const wanted = rule.categories;
      if (!wanted) return null;
      const normalized = new Set(wanted.map(normalizeCategory));
      return (alert) => {
        const hit = alert.categories.find((c) => normalized.has(normalizeCategory(c)));
        return {
          holds: hit !== undefined,
          why: () =>
            hit
              ? `category ${hit}`
              : `categories ${alert.categories.join(', ') || '(none)'} not in ${wanted.join(', ')}`,
        };
      };
    }
    case 'mitreTechniques': {
      const wanted = rule.mitreTechniques?.map((t) => t.toUpperCase());
      if (!wanted) return null;
      // A technique covers its sub-techniques: T1486 matches T1486.001, not the reverse.
      const covered = (technique: string) => {
        const upper = technique.toUpperCase();
        return wanted.some((w) => upper === w || upper.startsWith(`${w}.`));
      };
      return (alert) => {
        const hit = alert.mitreTechniques.find(covered);
        return {
          holds: hit !== undefined,
          why: () =>
            hit
              ? `technique ${hit}`
              : `techniques ${alert.mitreTechniques.join(', ') || '(none)'} not under ${wanted.join(', ')}`,
        };
      };
    }
    case 'title': {
      const pattern = rule.title;
      if (!pattern) return null;
      const match = compileGlobs([pattern]);
      return (alert) => {
        // Matched once: a title may be long and hostile, and `why` is asked for every decision.
        const holds = match(alert.title);
        return { holds, why: () => `title ${holds ? 'matches' : 'does not match'} ${pattern}` };
      };
    }
    case 'firing':
      return rule.firing
        ? (alert) => ({ holds: alert.firing, why: () => (alert.firing ? 'firing' : 'not firing') })
        : null;
  }
}

function atLeast(
  label: string,
  scale: readonly string[],
  min: string,
  value: string | null | undefined,
): Check {
  if (!value) return { holds: false, why: () => `${label} unknown (needs ${min} or more)` };
  const holds = scale.indexOf(value) >= scale.indexOf(min);
  return { holds, why: () => `${label} ${value} ${holds ? '≥' : '<'} ${min}` };
}

function compileDeviceTest(key: (typeof DEVICE_CONDITION_KEYS)[number], rule: RuleSpec): DeviceTest | null {
  switch (key) {
    case 'tags':
      return anyOf('tags', rule.tags, (m) => m.machineTags ?? []);
    case 'deviceGroups':
      return anyOf('device group', rule.deviceGroups, (m) => (m.rbacGroupName ? [m.rbacGroupName] : []));
    case 'osPlatforms':
      return anyOf('platform', rule.osPlatforms, (m) => (m.osPlatform ? [m.osPlatform] : []));
    case 'healthStatuses': {
      const statuses = rule.healthStatuses as readonly string[] | undefined;
      return statuses
        ? (m) => ({
            holds: statuses.includes(m.healthStatus),
            why: () =>
              `health ${m.healthStatus} ${statuses.includes(m.healthStatus) ? 'in' : 'not in'} ${statuses.join(', ')}`,
          })
        : null;
    }
    case 'hostnames':
      return anyOf('name', rule.hostnames, (m) => namesOf(m.computerDnsName));
    case 'deviceIds': {
      const ids = rule.deviceIds?.map((id) => id.toLowerCase());
      return ids
        ? (m) => ({
            holds: ids.includes(m.id.toLowerCase()),
            why: () => `device id ${m.id} ${ids.includes(m.id.toLowerCase()) ? 'listed' : 'not listed'}`,
          })
        : null;
    }
    case 'minRiskScore': {
      const min = rule.minRiskScore;
      return min ? (m) => atLeast('risk score', RISK_SCORES, min, m.riskScore) : null;
    }
    case 'minExposureLevel': {
      const min = rule.minExposureLevel;
      return min ? (m) => atLeast('exposure', EXPOSURE_LEVELS, min, m.exposureLevel) : null;
    }
  }
}

export interface CompiledRule {
  spec: RuleSpec;
  hasDeviceConditions: boolean;
  /** `machine` null means stage 1: device conditions are unknown. */
  evaluate(alert: NormalizedAlert, machine: Machine | null): Evaluation;
}

export function compileRule(spec: RuleSpec): CompiledRule {
  const alertTests = ALERT_CONDITION_KEYS.map((key) => compileAlertTest(key, spec)).filter((t) => t !== null);
  const deviceTests = DEVICE_CONDITION_KEYS.map((key) => compileDeviceTest(key, spec)).filter(
    (t) => t !== null,
  );
  const deviceKeys = DEVICE_CONDITION_KEYS.filter((key) => spec[key] !== undefined);
  return {
    spec,
    hasDeviceConditions: deviceTests.length > 0,
    evaluate(alert, machine) {
      const held: (() => string)[] = [];
      for (const test of alertTests) {
        const check = test(alert);
        if (!check.holds) return { verdict: 'miss', why: check.why };
        held.push(check.why);
      }
      if (deviceTests.length > 0 && !machine)
        return {
          verdict: 'unknown',
          why: () => `alert conditions hold; needs the machine record for ${deviceKeys.join(', ')}`,
        };
      for (const test of deviceTests) {
        const check = test(machine as Machine);
        if (!check.holds) return { verdict: 'miss', why: check.why };
        held.push(check.why);
      }
      return {
        verdict: 'match',
        why: () => held.map((why) => why()).join('; ') || 'no conditions: matches every alert',
      };
    },
  };
}

export interface CompiledProtection {
  spec: ProtectionSpec;
  /** Stage 1 (machine null) can only prove a match from the alert's names and ids. */
  evaluate(device: DeviceRef, machine: Machine | null): Evaluation;
}

export function compileProtection(spec: ProtectionSpec): CompiledProtection {
  const ids = new Set(spec.deviceIds?.map((id) => id.toLowerCase()));
  const hostMatch = spec.hostnames ? compileGlobs(spec.hostnames) : null;
  const tagMatch = spec.tags ? compileGlobs(spec.tags) : null;
  const groupMatch = spec.deviceGroups ? compileGlobs(spec.deviceGroups) : null;
  return {
    spec,
    evaluate(device, machine) {
      const id = [device.mdeDeviceId, machine?.id].find((i) => i && ids.has(i.toLowerCase()));
      if (id) return { verdict: 'match', why: () => `device id ${quote(id)} listed` };
      if (hostMatch) {
        const name = namesOf(device.fqdn, device.hostname, machine?.computerDnsName).find(hostMatch);
        if (name)
          return { verdict: 'match', why: () => `name ${quote(name)} matches ${spec.hostnames?.join(', ')}` };
      }
      if (machine) {
        const tag = tagMatch && machine.machineTags?.find(tagMatch);
        if (tag) return { verdict: 'match', why: () => `tag ${quote(tag)}` };
        const group = machine.rbacGroupName;
        if (groupMatch && group && groupMatch(group))
          return { verdict: 'match', why: () => `device group ${quote(group)}` };
        return { verdict: 'miss', why: () => 'no listed id, name, tag or group' };
      }
      // The alert's names may be short or stale: only the machine record can rule a protection out.
      return {
        verdict: 'unknown',
        why: () => 'not matched from the alert alone; checked again on the machine record',
      };
    },
  };
}
