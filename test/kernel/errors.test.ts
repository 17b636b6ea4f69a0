import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  errnoCode,
  errorMessage,
  errorStack,
  errorSummary,
  fileErrorReason,
} from '../../shared/kernel/errors';

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('error text', () => {
  it('gives the message of an Error and the string of anything else thrown', () => {
    expect(errorMessage(new RangeError('out of range'))).toBe('out of range');
    expect(errorMessage('plain text')).toBe('plain text');
    expect(errorMessage(undefined)).toBe('undefined');
  });

  it('summarizes an Error by name and message only', () => {
    expect(errorSummary(new TypeError('x is not a function'))).toBe('TypeError: x is not a function');
    expect(errorSummary(42)).toBe('42');
  });

  it('gives the stack of an Error, and survives a thrown null', () => {
    const error = new Error('boom');
    expect(errorStack(error)).toBe(error.stack);
    const stackless = new Error('no stack');
    stackless.stack = undefined;
    expect(errorStack(stackless)).toBe('Error: no stack');
    expect(errorStack(null)).toBe('null');
  });

  it('reads the errno code of a failed file read, and falls back to the message', () => {
    const missing = thrownBy(() => readFileSync(join(__dirname, 'no-such-file.json')));
    expect(errnoCode(missing)).toBe('ENOENT');
    expect(fileErrorReason(missing)).toBe('ENOENT');
    expect(errnoCode(new Error('no code'))).toBeUndefined();
    expect(errnoCode(null)).toBeUndefined();
    expect(fileErrorReason(new Error('no code'))).toBe('no code');
  });
});
