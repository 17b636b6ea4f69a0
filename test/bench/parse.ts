/**
 * Parser throughput: alerts parsed per second from one mixed batch of every fixture family, as an
 * alert storm delivers them (JSON text in, normalized alerts out, including JSON.parse).
 */
import { isParsed, parseAlertPayload } from '../../shared/alerts/parse';
import { fixture, fixtureNames } from '../fixtures';

const BATCH_ITEMS = 1000;
const ROUNDS = 20;

export async function run(): Promise<void> {
  const samples = fixtureNames().map(fixture);
  const batch = Array.from({ length: BATCH_ITEMS }, (_, i) => samples[i % samples.length]);
  const text = JSON.stringify(batch);
  const alertsPerBatch = parseAlertPayload(JSON.parse(text)).filter(isParsed).length;

  for (let i = 0; i < 3; i++) parseAlertPayload(JSON.parse(text)); // warm-up: let the JIT settle
  const started = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) parseAlertPayload(JSON.parse(text));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  const alerts = alertsPerBatch * ROUNDS;
  process.stdout.write(
    `parse: ${ROUNDS} batches of ${BATCH_ITEMS} items (${(text.length / 1024 / 1024).toFixed(1)} MiB, ` +
      `${samples.length} fixtures, ${alertsPerBatch} alerts each) in ${seconds.toFixed(2)} s: ` +
      `${Math.round(alerts / seconds).toLocaleString('en-US')} alerts/s, ` +
      `${((text.length * ROUNDS) / 1024 / 1024 / seconds).toFixed(1)} MiB/s\n`,
  );
}
