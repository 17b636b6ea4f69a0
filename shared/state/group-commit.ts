/**
 * Group commit for one hot document (the breaker): the updates this process asks for while a write
 * is in flight are applied together, in order, in the next single read-modify-write. Without it,
 * every concurrent isolation's reserve and commit contends for the one entity's ETag, and a storm
 * spends its time in conflicts and retries (the storm-store bench measured reserve + commit at p99
 * 4 s and requests dead-lettered as "contended"). Other processes still meet it with ETags.
 */

/** One update of the document: the document after it and what the caller gets back. */
export type DocumentStep<D, T> = (doc: D, now: number) => { doc: D; result: T };

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Runs a batch of steps over the document: the document after all of them and each one's outcome. */
export type BatchSteps<D> = (doc: D, now: number) => { doc: D; results: Outcome[] };

interface Pending<D> {
  step: DocumentStep<D, unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Largest batch in one write: bounds the work (and the entity) a single write carries. */
const MAX_BATCH = 100;

export class GroupCommit<D> {
  private readonly pending: Pending<D>[] = [];
  private draining = false;

  /** `write` reads the document, applies the steps it is given, and writes it once (retrying on conflict). */
  constructor(private readonly write: (steps: BatchSteps<D>) => Promise<Outcome[]>) {}

  apply<T>(step: DocumentStep<D, T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ step, resolve: resolve as (value: unknown) => void, reject });
      if (this.draining) return;
      this.draining = true;
      // Started after the current turn: updates asked for together go out together.
      queueMicrotask(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_BATCH);
        try {
          const outcomes = await this.write((doc, now) => applyAll(batch, doc, now));
          outcomes.forEach((outcome, i) => {
            if (outcome.ok) batch[i].resolve(outcome.value);
            else batch[i].reject(outcome.error);
          });
        } catch (error) {
          // Nothing of the batch was written: every caller hears why.
          for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      this.draining = false;
    }
  }
}

/** A step that throws fails alone; the others apply to the document as it was before it. */
function applyAll<D>(batch: Pending<D>[], start: D, now: number): { doc: D; results: Outcome[] } {
  let doc = start;
  const results = batch.map((entry): Outcome => {
    try {
      const next = entry.step(doc, now);
      doc = next.doc;
      return { ok: true, value: next.result };
    } catch (error) {
      return { ok: false, error };
    }
  });
  return { doc, results };
}
