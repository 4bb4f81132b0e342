/** Where CDR write failures are reported (the observability logger satisfies it). */
export interface CdrWriterLogger {
  warn(obj: object, msg?: string): void;
}

interface Lane {
  tail: Promise<void>;
  pending: number;
}

/** Calls whose CDR insert failed, remembered (bounded) so their later writes are skipped. */
const MAX_BROKEN = 10_000;

/**
 * Serialises the CDR writes of each call: they run in the order they were queued, one at a time per call, and
 * calls do not wait for each other. Callers never await a write on the signalling path (answering a call must not
 * wait for the database); a write is durable once its own promise resolves. Failures are logged and counted,
 * never thrown into call control.
 */
export class CdrWriter {
  private readonly lanes = new Map<string, Lane>();
  /** The first write (the CDR insert) failed: later writes of these calls are skipped (call_events need the row). */
  private readonly broken = new Set<string>();
  private failuresValue = 0;
  private writesValue = 0;

  constructor(private readonly log: CdrWriterLogger) {}

  /** Writes that failed since start. */
  get failures(): number {
    return this.failuresValue;
  }
  /** Writes completed since start. */
  get writes(): number {
    return this.writesValue;
  }
  /** Calls with writes still queued. */
  get busyCalls(): number {
    return this.lanes.size;
  }

  /**
   * Queue `write` behind the call's earlier writes. `first` marks the insert that creates the row: if it fails, the
   * call's later writes are dropped rather than failing one by one on the missing row.
   */
  enqueue(callId: string, what: string, write: () => Promise<unknown>, first = false): Promise<void> {
    let lane = this.lanes.get(callId);
    if (!lane) {
      lane = { tail: Promise.resolve(), pending: 0 };
      this.lanes.set(callId, lane);
    }
    const l = lane;
    l.pending++;
    const run = async (): Promise<void> => {
      if (this.broken.has(callId)) return;
      try {
        await write();
        this.writesValue++;
      } catch (err) {
        this.failuresValue++;
        if (first) {
          this.broken.add(callId);
          if (this.broken.size > MAX_BROKEN) this.broken.delete(this.broken.values().next().value as string);
        }
        this.log.warn({ err, callId, write: what }, 'CDR write failed');
      }
    };
    const next = l.tail.then(run);
    l.tail = next.then(() => {
      l.pending--;
      if (l.pending === 0 && this.lanes.get(callId) === l) this.lanes.delete(callId);
    });
    return next;
  }

  /** Resolves when every write queued so far for `callId` has finished. */
  async flush(callId: string): Promise<void> {
    const lane = this.lanes.get(callId);
    if (lane) await lane.tail;
  }

  /** Resolves when every write queued so far (all calls) has finished: shutdown and tests. */
  async flushAll(): Promise<void> {
    while (this.lanes.size > 0) await Promise.all([...this.lanes.values()].map((l) => l.tail));
  }
}
