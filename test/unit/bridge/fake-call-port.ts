import type { BridgeCallInfo, BridgeCallPort, BridgeDtmfEvent, BridgeMarkEvent, BridgeTranscriptEntry, BridgeTransferType, Unsubscribe } from '../../../src/bridge';

/** A call-control stand-in for bridge tests: records every call and lets the test play the media layer. */
export class FakeCallPort implements BridgeCallPort {
  readonly info: BridgeCallInfo;
  private frameCbs: ((f: Int16Array) => void)[] = [];
  private dtmfCbs: ((e: BridgeDtmfEvent) => void)[] = [];
  /** Copies of every chunk enqueued, in order. */
  readonly enqueued: Int16Array[] = [];
  /** Samples currently queued (not yet "sent"). */
  queuedSamples = 0;
  private marks: { name: string; cb: (e: BridgeMarkEvent) => void }[] = [];
  readonly calls: { method: string; args: unknown[] }[] = [];
  clears = 0;
  refuseAudio = false;
  unsubscribed = 0;

  constructor(info: Partial<BridgeCallInfo> = {}) {
    this.info = {
      callId: 'call-1@test',
      from: '+15551230001',
      to: '+15559870002',
      direction: 'inbound',
      codec: 'PCMU',
      customParameters: { tenant: 'acme' },
      ...info,
    };
  }

  get frameListeners(): number {
    return this.frameCbs.length;
  }

  onFrame(cb: (frame: Int16Array) => void): Unsubscribe {
    this.frameCbs.push(cb);
    return () => {
      this.unsubscribed++;
      this.frameCbs = this.frameCbs.filter((x) => x !== cb);
    };
  }
  onDtmf(cb: (event: BridgeDtmfEvent) => void): Unsubscribe {
    this.dtmfCbs.push(cb);
    return () => {
      this.unsubscribed++;
      this.dtmfCbs = this.dtmfCbs.filter((x) => x !== cb);
    };
  }
  emitFrame(frame: Int16Array): void {
    for (const cb of this.frameCbs) cb(frame);
  }
  emitDtmf(event: BridgeDtmfEvent): void {
    for (const cb of this.dtmfCbs) cb(event);
  }
  enqueuePcm(pcm: Int16Array): boolean {
    if (this.refuseAudio) return false;
    this.enqueued.push(pcm.slice());
    this.queuedSamples += pcm.length;
    return true;
  }
  /** Total samples ever enqueued. */
  get enqueuedSamples(): number {
    return this.enqueued.reduce((n, a) => n + a.length, 0);
  }
  clearQueue(): void {
    this.clears++;
    this.queuedSamples = 0;
    const marks = this.marks;
    this.marks = [];
    for (const m of marks) m.cb('cleared');
  }
  mark(name: string, cb: (event: BridgeMarkEvent) => void): void {
    this.marks.push({ name, cb });
  }
  get pendingMarks(): string[] {
    return this.marks.map((m) => m.name);
  }
  /** Pretend the media clock sent everything queued: marks complete as played. */
  drain(): void {
    this.queuedSamples = 0;
    const marks = this.marks;
    this.marks = [];
    for (const m of marks) m.cb('played');
  }
  hangup(reason: string): void {
    this.calls.push({ method: 'hangup', args: [reason] });
  }
  transfer(target: string, type: BridgeTransferType): void {
    this.calls.push({ method: 'transfer', args: [target, type] });
  }
  sendDtmf(digits: string): void {
    this.calls.push({ method: 'sendDtmf', args: [digits] });
  }
  hold(): void {
    this.calls.push({ method: 'hold', args: [] });
  }
  resume(): void {
    this.calls.push({ method: 'resume', args: [] });
  }
  play(fileOrUrl: string): void {
    this.calls.push({ method: 'play', args: [fileOrUrl] });
  }
  recordStart(): void {
    this.calls.push({ method: 'recordStart', args: [] });
  }
  recordStop(): void {
    this.calls.push({ method: 'recordStop', args: [] });
  }
  transcript(entry: BridgeTranscriptEntry): void {
    this.calls.push({ method: 'transcript', args: [entry] });
  }
  callsOf(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }
}

/** A 20 ms frame whose samples encode `seq` (so tests can check order and content after transport). */
export function numberedFrame(seq: number): Int16Array {
  const f = new Int16Array(160);
  for (let i = 0; i < 160; i++) f[i] = ((seq * 7 + i * 13) % 2000) - 1000;
  return f;
}

/** Poll until `cond` holds (real sockets: no fixed sleeps); throws after `limitMs`. */
export async function until(cond: () => boolean, limitMs = 5000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
