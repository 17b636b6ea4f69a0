/**
 * The policy file as operators write it (validated against policy.schema.json before anything reads
 * it). Kept beside the schema so a field added to one is added to the other; a test compares them.
 */
import type { AlertSource, Severity } from '../alerts/model';
import type { IsolationType, PolicyMode } from '../kernel/vocabulary';
import type { HealthStatus } from '../mde/types';

export const RULE_ACTIONS = ['isolate', 'escalate', 'skip'] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];

/** What a protection does to an isolation a rule asked for. */
export const PROTECTION_ACTIONS = ['escalate', 'selective'] as const;
export type ProtectionAction = (typeof PROTECTION_ACTIONS)[number];

/** Ordered from lowest to highest, so an index comparison answers "at least". */
export const RISK_SCORES = ['None', 'Informational', 'Low', 'Medium', 'High'] as const;
export type RiskScore = (typeof RISK_SCORES)[number];
export const EXPOSURE_LEVELS = ['None', 'Low', 'Medium', 'High'] as const;
export type ExposureLevel = (typeof EXPOSURE_LEVELS)[number];

/** Conditions on the alert alone: known at intake, no API call. */
export interface AlertConditions {
  minSeverity?: Severity;
  sources?: AlertSource[];
  categories?: string[];
  mitreTechniques?: string[];
  title?: string;
  firing?: true;
}

/** Conditions on the MDE machine record: known only after the worker resolved the device. */
export interface DeviceConditions {
  tags?: string[];
  deviceGroups?: string[];
  osPlatforms?: string[];
  healthStatuses?: HealthStatus[];
  hostnames?: string[];
  deviceIds?: string[];
  minRiskScore?: RiskScore;
  minExposureLevel?: ExposureLevel;
}

export const ALERT_CONDITION_KEYS = [
  'minSeverity',
  'sources',
  'categories',
  'mitreTechniques',
  'title',
  'firing',
] as const satisfies readonly (keyof AlertConditions)[];
export const DEVICE_CONDITION_KEYS = [
  'tags',
  'deviceGroups',
  'osPlatforms',
  'healthStatuses',
  'hostnames',
  'deviceIds',
  'minRiskScore',
  'minExposureLevel',
] as const satisfies readonly (keyof DeviceConditions)[];

export interface RuleSpec extends AlertConditions, DeviceConditions {
  name: string;
  description?: string;
  action: RuleAction;
  /** Only with action isolate; Full when left out. */
  isolationType?: IsolationType;
  /** Only with action isolate: the time box (kernel/duration.ts), released when it ends. */
  isolateFor?: string;
  /** Only with action isolate: what happens at MDE's lift; `let-lift` when left out. */
  onLift?: OnLift;
  /** Only with action isolate: what happens when the isolation ends TimeOut (dispatch/steps/offline-timeout.ts). */
  onTimeout?: OnTimeout;
  /** Only with action isolate: held until people approve it (shared/approvals/). */
  approval?: ApprovalSpec;
}

/** What happens to a held isolation nobody decided on by its deadline. */
export const ON_EXPIRY = ['isolate', 'drop', 'escalate'] as const;
export type OnExpiry = (typeof ON_EXPIRY)[number];

/** An isolation held for approval, as the policy writes it. */
export interface ApprovalSpec {
  /** kernel/duration.ts form, at most APPROVAL_EXPIRY_MAX_MS. */
  expiresAfter: string;
  onExpiry: OnExpiry;
  /** Distinct approvers needed; 1 when left out. */
  approvers?: 1 | 2;
}

/**
 * An approval waits at most a week: past MDE's own lift of an isolation, a decision on an alert this
 * old means nothing any more.
 */
export const APPROVAL_EXPIRY_MAX_MS = 7 * 86_400_000;

/** At MDE's lift an isolation ends (`let-lift`) or a new one is posted (`renew`). */
export type OnLift = 'let-lift' | 'renew';

/** What a rule asks when its isolation ends TimeOut: post it again for the device, or let a person decide. */
export const ON_TIMEOUT = ['retry-when-seen', 'escalate'] as const;
export type OnTimeout = (typeof ON_TIMEOUT)[number];

export interface ProtectionSpec {
  name: string;
  description?: string;
  deviceIds?: string[];
  tags?: string[];
  deviceGroups?: string[];
  hostnames?: string[];
  /** escalate when left out. */
  action?: ProtectionAction;
  /** Instead of escalating, an isolation of a protected device is held until people approve it. */
  approval?: ApprovalSpec;
}

export const PROTECTION_SELECTOR_KEYS = ['deviceIds', 'tags', 'deviceGroups', 'hostnames'] as const;

export interface BlastRadiusSpec {
  maxDevicesPerAlert?: number;
  maxIsolations?: number;
  windowMinutes?: number;
}

export interface CommentSpec {
  template?: string;
  maxLength?: number;
}

export interface PolicyDocument {
  $schema?: string;
  version: string;
  mode: PolicyMode;
  description?: string;
  protections?: ProtectionSpec[];
  rules: RuleSpec[];
  defaultAction?: Exclude<RuleAction, 'isolate'>;
  blastRadius?: BlastRadiusSpec;
  comment?: CommentSpec;
}

/** The mode a deployment runs in: ISOLATION_MODE when it is set, else the policy's own. */
export function effectiveMode(document: PolicyDocument, modeOverride: PolicyMode | null): PolicyMode {
  return modeOverride ?? document.mode;
}

export const BLAST_RADIUS_DEFAULTS: Required<BlastRadiusSpec> = {
  maxDevicesPerAlert: 3,
  maxIsolations: 10,
  windowMinutes: 60,
};

/**
 * MDE documents `Comment` as required but gives no maximum length (docs/mde-api.md §5). 1,000 characters
 * stays well inside what the portal shows and what clients have been seen to send.
 */
export const COMMENT_MAX_LENGTH = 1000;

/** Names the engine uses for its own decisions; a rule or protection may not take them. */
export const BUILT_IN_RULES = [
  'not-firing',
  'manual',
  'manual-override',
  'default',
  'blast-radius',
  'platform',
] as const;
