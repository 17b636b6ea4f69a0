/**
 * The MDE `Comment` of an isolation: who or what asked and why. Placeholder values come from alerts,
 * i.e. from attackers as much as from us, so each is flattened to one line, bounded, and inserted in
 * a single pass (a title containing `{rule}` stays literal).
 */

import { oneLine, truncate } from '../kernel/text';
import { COMMENT_MAX_LENGTH } from './document';

export const COMMENT_PLACEHOLDERS = [
  'rule',
  'action',
  'isolationType',
  'reason',
  'alertId',
  'incidentId',
  'source',
  'severity',
  'title',
  'requestedBy',
  'policyVersion',
  'mode',
] as const;
export type CommentValues = Record<(typeof COMMENT_PLACEHOLDERS)[number], string>;

export const DEFAULT_COMMENT_TEMPLATE =
  'mde-isolator ({mode}): {action} {isolationType}, rule {rule}, requested by {requestedBy}; ' +
  '{severity} {source} alert {alertId}, incident {incidentId}: {title}. Policy {policyVersion}.';

/** A release is no rule's decision: its comment says who asked and why, in the same words. */
export const RELEASE_COMMENT_TEMPLATE =
  'mde-isolator ({mode}): release requested by {requestedBy}: {reason}; {source} alert {alertId}, incident {incidentId}. Policy {policyVersion}.';

const PLACEHOLDER = /\{([^{}]*)\}/g;
const VALUE_MAX_LENGTH = 300;

/** Problems of a template: unknown placeholders and stray braces. */
export function templateProblems(template: string): string[] {
  const problems: string[] = [];
  for (const [, name] of template.matchAll(PLACEHOLDER))
    if (!(COMMENT_PLACEHOLDERS as readonly string[]).includes(name))
      problems.push(
        `unknown placeholder {${name}}; known: ${COMMENT_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`,
      );
  if (/[{}]/.test(template.replace(PLACEHOLDER, '')))
    problems.push('has a brace that does not belong to a {placeholder}');
  return problems;
}

export function renderComment(
  template: string,
  values: CommentValues,
  maxLength = COMMENT_MAX_LENGTH,
): string {
  const rendered = template.replace(PLACEHOLDER, (whole, name: string) =>
    Object.hasOwn(values, name) ? oneLine(values[name as keyof CommentValues], VALUE_MAX_LENGTH) : whole,
  );
  return truncate(rendered, Math.min(maxLength, COMMENT_MAX_LENGTH));
}
