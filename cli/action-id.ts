/**
 * An MDE action id as an operator types it: the full GUID, or any unique prefix of an id the CLI
 * printed (tables show the first 8 characters and "…"). A prefix is looked up in the isolation
 * register, the list `isolations` prints; MDE itself cannot be searched by a part of an id.
 */
import { canonicalGuid } from '../shared/mde/ids';
import type { StateStorage } from '../shared/state/settings';
import type { StateStore } from '../shared/state/store';

/** Shortest prefix taken: fewer characters match too many ids to be what someone copied. */
export const MIN_PREFIX = 4;
/** Matches named in the error when a prefix is ambiguous. */
const MATCHES_LISTED = 5;

const HOW_TO_SEE =
  'the full ids are in `mde-isolator isolations -o tsv` and on the "posted" and "following" lines';

/** The full id, or a one-line error: not an id, no such id in the register, or several. */
export async function resolveActionId(
  input: string,
  register: Pick<StateStore['register'], 'list'>,
  storage: StateStorage['kind'],
): Promise<{ id: string } | { error: string }> {
  const typed = input.trim().replace(/(…|\.\.\.)$/, '');
  const full = canonicalGuid(typed);
  if (full) return { id: full };
  const prefix = typed.toLowerCase();
  if (prefix.length < MIN_PREFIX || !/^[0-9a-f][0-9a-f-]*$/.test(prefix))
    return {
      error: `"${input.slice(0, 40)}" is not an MDE action id: give the GUID or at least its first ${MIN_PREFIX} characters`,
    };
  const ids = new Set<string>();
  for (const record of await register.list())
    for (const action of record.actions)
      if (action.actionId.toLowerCase().startsWith(prefix)) ids.add(action.actionId);
  const matches = [...ids].sort();
  if (matches.length === 1) return { id: matches[0] };
  if (matches.length === 0) {
    const where =
      storage === 'embedded'
        ? "this process's own register, empty: set AzureWebJobsStorage to search the app's, or give the full id"
        : `the app's register: ${HOW_TO_SEE}`;
    return { error: `no action id starting with ${prefix} in ${where}` };
  }
  const listed = matches.slice(0, MATCHES_LISTED).join(', ');
  const more = matches.length > MATCHES_LISTED ? `, and ${matches.length - MATCHES_LISTED} more` : '';
  return { error: `${prefix} matches ${matches.length} actions (${listed}${more}): give more characters` };
}
