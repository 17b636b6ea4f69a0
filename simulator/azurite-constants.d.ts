/** The part of Azurite's own constants the simulator reads (Azurite ships no type declarations). */
declare module 'azurite/dist/src/common/utils/constants' {
  export const EMULATOR_ACCOUNT_NAME: string;
  export const EMULATOR_ACCOUNT_KEY: Buffer;
}
