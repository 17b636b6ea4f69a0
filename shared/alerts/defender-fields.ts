/**
 * The fields the Defender for Endpoint alert resource and its successor, Graph `alerts_v2`, spell alike
 * (docs/alert-schemas.md §3, §4): one reading, so the two families cannot drift apart.
 */

import type { JsonRecord } from '../kernel/records';
import { field, textField } from './fields';
import type { NormalizedAlert } from './model';
import { categories, isFiringStatus, mitreTechniques, normalizeSeverity } from './normalize';

export type DefenderAlertFields = Pick<
  NormalizedAlert,
  'incidentId' | 'incidentArmId' | 'title' | 'severity' | 'firing' | 'categories' | 'mitreTechniques'
>;

export function defenderAlertFields(body: JsonRecord): DefenderAlertFields {
  return {
    incidentId: textField(body, 'incidentId') ?? null,
    incidentArmId: null,
    title: textField(body, 'title') ?? '',
    severity: normalizeSeverity(field(body, 'severity')),
    firing: isFiringStatus(field(body, 'status')),
    categories: categories(field(body, 'category')),
    mitreTechniques: mitreTechniques(field(body, 'mitreTechniques')),
  };
}
