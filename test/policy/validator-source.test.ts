import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { policyValidatorSource } from '../../shared/policy/validator-source';

it('ships the validator compiled from the current policy schema (else: npm run generate:policy-validator)', () => {
  const shipped = readFileSync(join(__dirname, '../../shared/policy/policy-schema.generated.ts'), 'utf8');
  expect(shipped === policyValidatorSource()).toBe(true);
});
