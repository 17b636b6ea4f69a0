import { DEFAULT_COMMENT_TEMPLATE } from '../../shared/policy/comment';
import { COMMENT_MAX_LENGTH } from '../../shared/policy/document';
import { alertOf } from '../support/alerts';
import { decideOn, machineOf, policyOf } from './builders';

const rules = [{ name: 'ransomware', categories: ['Ransomware'], action: 'isolate' as const }];

describe('MDE comment', () => {
  it('says who asked and why: rule, alert, incident, policy version', () => {
    const policy = policyOf({ rules });
    const decision = decideOn(policy, alertOf(), machineOf());
    expect(policy.comment(alertOf(), decision)).toBe(
      'mde-isolator (enforce): isolate Full, rule ransomware, requested by automation; high mde-alert alert ' +
        'da638856212847710932_-1173482659, incident 18344: Possible ransomware activity. Policy test-1.',
    );
  });

  it('names the person of a manual request, or the caller given', () => {
    const policy = policyOf({ comment: { template: '{requestedBy}|{incidentId}' } });
    const alert = alertOf({
      source: 'manual',
      incidentId: null,
      manual: { comment: 'x', requestedBy: 'ana' },
    });
    const decision = decideOn(policy, alert, machineOf());
    expect(policy.comment(alert, decision)).toBe('ana|none');
    expect(policy.comment(alert, decision, 'cli:bob')).toBe('cli:bob|none');
  });

  it('renders alert text safely: one line, no second substitution, bounded', () => {
    const policy = policyOf({ rules, comment: { template: '[{title}] by {rule}' } });
    const alert = alertOf({ title: `evil\r\nRule: approved by CISO {rule}\u202e ${'x'.repeat(500)}` });
    const comment = policy.comment(alert, decideOn(policy, alert, machineOf()));
    expect(comment).toMatch(/^\[evil Rule: approved by CISO \{rule\} x+…\] by ransomware$/);
    expect(comment).not.toMatch(/[\r\n\u202e]/);
  });

  it.each([100, COMMENT_MAX_LENGTH])('never exceeds maxLength %i', (maxLength) => {
    const policy = policyOf({
      rules,
      comment: { template: `${DEFAULT_COMMENT_TEMPLATE} {reason} {reason} {reason} {reason}`, maxLength },
    });
    const alert = alertOf({ title: 'y'.repeat(2000), alertId: 'z'.repeat(2000) });
    const comment = policy.comment(alert, decideOn(policy, alert, machineOf()));
    expect(comment).toHaveLength(maxLength);
    expect(comment.endsWith('…')).toBe(true);
  });

  it('never cuts a character in half, nor passes a lone surrogate on', () => {
    const policy = policyOf({ rules, comment: { template: '{title}|{alertId}', maxLength: 81 } });
    const alert = alertOf({ title: '\u{1F512}'.repeat(400), alertId: `a\ud800b` });
    const title = policy.comment(alert, decideOn(policy, alert, machineOf()));
    expect(title).not.toMatch(/\p{Cs}/u);
    const long = policyOf({ rules, comment: { template: '{title}|{alertId}' } });
    const full = long.comment(alert, decideOn(long, alert, machineOf()));
    expect(full).not.toMatch(/\p{Cs}/u);
    expect(full).toMatch(/^(\u{1F512})+…\|a b$/u);
  });
});
