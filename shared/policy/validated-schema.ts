/**
 * The schema the policy validator is compiled from. The shipped schema spells the device id pattern
 * out for editors that read the file; the validator takes it from the one definition the code checks
 * ids with (a test keeps the file's copy equal).
 */
import { MDE_DEVICE_ID } from '../kernel/ids';
import schema from './policy.schema.json';

export const VALIDATED_SCHEMA = {
  ...schema,
  definitions: {
    ...schema.definitions,
    deviceIdList: {
      ...schema.definitions.deviceIdList,
      items: { ...schema.definitions.deviceIdList.items, pattern: MDE_DEVICE_ID.source },
    },
  },
};
