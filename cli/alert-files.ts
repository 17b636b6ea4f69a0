/** Reading alert payload files for CLI verbs (`whatif`, `run`): every problem reported, none fatal. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { NormalizedAlert } from '../shared/alerts/model';
import { parseAlertPayload } from '../shared/alerts/parse';
import { errorMessage, fileErrorReason } from '../shared/kernel/errors';
import type { CliIo } from './context';

export interface AlertFromFile {
  file: string;
  alert: NormalizedAlert;
}

/** JSON.parse quotes the start of the text, line breaks included, which would split the message. */
function collapseWhitespace(message: string): string {
  return message.replace(/\s+/g, ' ').trim();
}

/** A payload file's JSON, or null once why it cannot be had is reported on stderr as `FILE: why`. */
export function readJsonFile(file: string, io: CliIo): { value: unknown } | null {
  const unusable = (why: string) => {
    io.stderr.write(`${file}: ${why}\n`);
    return null;
  };
  let text: string;
  try {
    text = readFileSync(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    return unusable(`cannot read (${fileErrorReason(error)})`);
  }
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return unusable(`not JSON: ${collapseWhitespace(errorMessage(error))}`);
  }
}

/**
 * The alerts of every file (any accepted shape, or a batch), in order. An unreadable file or an
 * unrecognized item is reported on stderr, one line each, and the rest is still read; `complete` tells
 * whether everything was.
 */
export function readAlertFiles(files: string[], io: CliIo): { alerts: AlertFromFile[]; complete: boolean } {
  const alerts: AlertFromFile[] = [];
  let complete = true;
  for (const file of files) {
    const read = readJsonFile(file, io);
    if (!read) {
      complete = false;
      continue;
    }
    for (const outcome of parseAlertPayload(read.value)) {
      if ('problem' in outcome) {
        io.stderr.write(`${file}: ${outcome.problem.message}\n`);
        complete = false;
      } else {
        alerts.push({ file, alert: outcome.alert });
      }
    }
  }
  return { alerts, complete };
}
