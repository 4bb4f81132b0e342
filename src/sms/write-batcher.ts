/**
 * Groups concurrent writes into one statement (group commit at the application level). The first write after an
 * idle period goes out at once, so a lone request waits no longer than before; while `maxConcurrent` flushes are in
 * flight, new writes queue and leave together in the next flush (up to `maxBatch`). Each caller's promise settles
 * only when the statement carrying its item has committed: batching never acknowledges anything early.
 */
export class WriteBatcher<I, O> {
  private queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private active = 0;

  constructor(
    /** Write `items`; resolve with one output per item, in the same order. */
    private readonly flush: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 256,
    private readonly maxConcurrent = 4,
  ) {}

  /** Items waiting for a flush slot. */
  get pending(): number {
    return this.queue.length;
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.active < this.maxConcurrent && this.queue.length > 0) {
      const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
      this.queue = batch === this.queue ? [] : this.queue.slice(this.maxBatch);
      this.active++;
      this.flush(batch.map((b) => b.item))
        .then(
          (out) => {
            for (let i = 0; i < batch.length; i++) batch[i].resolve(out[i]);
          },
          (err: unknown) => {
            for (const b of batch) b.reject(err);
          },
        )
        .finally(() => {
          this.active--;
          this.pump();
        });
    }
  }
}
