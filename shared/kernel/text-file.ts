/**
 * Reading a configuration file named by a setting or an option (the policy). Such a path may name
 * anything: a FIFO would block the read forever, `/dev/zero` never ends, and a log file is huge. Only
 * a regular file of bounded size is read, and it is opened non-blocking so that a FIFO cannot hang
 * start-up before it is even recognized as one.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { errnoCode } from './errors';

/** Why a file could not be read, in a few words that never quote its content. */
export class TextFileError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TextFileError';
  }
}

export function readTextFile(path: string, maxBytes: number): string {
  let fd: number;
  try {
    // O_NONBLOCK does not exist on Windows, where a FIFO cannot be named by a plain path either.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw new TextFileError(errnoCode(error) ?? 'unreadable');
  }
  try {
    if (!fstatSync(fd).isFile()) throw new TextFileError('not a regular file');
    // One byte more than allowed tells a file that is too large (or grew while read) from one that fits.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0 || length + read > maxBytes) {
        length += read;
        break;
      }
      length += read;
    }
    if (length > maxBytes) throw new TextFileError(`larger than ${maxBytes} bytes`);
    return buffer.subarray(0, length).toString('utf8');
  } catch (error) {
    if (error instanceof TextFileError) throw error;
    throw new TextFileError(errnoCode(error) ?? 'unreadable');
  } finally {
    closeSync(fd);
  }
}
