/** `npm run generate:policy-validator`: writes the precompiled policy schema validator. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { policyValidatorSource } from '../../shared/policy/validator-source';

const target = join(__dirname, '..', '..', '..', 'shared', 'policy', 'policy-schema.generated.ts');
writeFileSync(target, policyValidatorSource());
process.stdout.write(`wrote ${target}\n`);
