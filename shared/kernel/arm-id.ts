/** Last segment of an ARM id or URL path (`.../Incidents/<guid>` → `<guid>`), a trailing `/` ignored. */
export function lastSegment(value: string | undefined): string | undefined {
  return value?.split('/').filter(Boolean).pop();
}

/**
 * A segment is never `.` or `..` (which a URL resolves away, walking up to another resource), and
 * never holds `%` or a backslash, through which a server could decode or read such a segment in.
 */
const SEGMENT = String.raw`(?!\.{1,2}/|\.{1,2}$)[^/?#%\\]+`;
const WORKSPACE = `/subscriptions/${SEGMENT}/resourceGroups/${SEGMENT}/providers/Microsoft\\.OperationalInsights/workspaces/${SEGMENT}`;
const INCIDENT_ARM_ID = new RegExp(
  `^(${WORKSPACE})/providers/Microsoft\\.SecurityInsights/Incidents/${SEGMENT}$`,
  'i',
);

/**
 * Whether `value` is a Microsoft Sentinel incident's ARM id, and only that: the id comes from an alert
 * payload and the app's identity may read and write elsewhere in ARM, so a forged id must never turn
 * into a call on another resource.
 */
export function isSentinelIncidentArmId(value: string): boolean {
  return INCIDENT_ARM_ID.test(value);
}

/** The workspace an incident's ARM id belongs to (where a role is granted); null for anything else. */
export function sentinelWorkspaceOf(incidentArmId: string): string | null {
  return INCIDENT_ARM_ID.exec(incidentArmId)?.[1] ?? null;
}
