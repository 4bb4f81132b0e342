import { randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { MediaSession } from '../media';
import type { NewRecording, RecordingCompletion, RecordingRecord, RecordingSource } from '../store';
import { CodedError, systemClock, type Clock } from '../util';
import type { Call } from './call';
import type { JsonObject } from './json';
import { TRANSCRIPT_EVENT, transcriptEventData, type Transcriber } from './transcriber';

/** What the recording service stores (RecordingRepository implements it). */
export interface RecordingStore {
  create(r: NewRecording): Promise<RecordingRecord>;
  complete(id: string, c: RecordingCompletion): Promise<RecordingRecord | undefined>;
  fail(id: string, error: string): Promise<RecordingRecord | undefined>;
}

/** Live calls by Call-ID (CallManager). */
export interface RecordingCallSource {
  call(callId: string): Call | undefined;
}

export interface RecordingLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface RecordingServiceOptions {
  store: RecordingStore;
  calls: RecordingCallSource;
  /** RECORDINGS_DIR; created when missing. */
  dir: string;
  instanceId: string;
  /** Whether calls to one of our numbers are recorded (numbers.recording_enabled, ai_settings.record). */
  numberRecords?: (number: string) => Promise<boolean>;
  /** Status webhooks: `recording.completed` goes to the call's webhook URL. */
  webhooks?: { notify(url: string, key: string, payload: JsonObject): boolean };
  /** Run over each completed recording once the call is over; lines are stored as `transcript` call events. */
  transcriber?: Transcriber;
  /** Where transcript lines are stored (CallEventRepository.append). */
  transcripts?: { append(callId: string, type: string, data: JsonObject): Promise<unknown> };
  logger?: RecordingLogger;
  clock?: Clock;
}

export type RecordingErrorCode = 'CALL_NOT_FOUND' | 'CALL_STATE' | 'ALREADY_RECORDING' | 'NOT_RECORDING' | 'RECORDING_IO';

export class RecordingError extends CodedError {
  declare readonly code: RecordingErrorCode;
  constructor(code: RecordingErrorCode, message: string) {
    super(code, message);
  }
}

interface Active {
  record: RecordingRecord;
  media: MediaSession;
  call: Call;
  offEnded: () => void;
  finishing?: Promise<RecordingRecord | undefined>;
}

/** Canonical RIFF/WAVE header our writer produces (RIFF + fmt + data chunk headers). */
const WAV_HEADER_BYTES = 44;
const SAMPLE_RATE = 8000;

/** A file name safe on any filesystem from a Call-ID (which may hold @, /, quotes...). */
function fileStem(callId: string): string {
  const clean = callId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  return clean === '' ? 'call' : clean;
}

/**
 * Call recording: stereo WAV (left = the caller, right = the other side: AI, IVR, queue agent, bridged party) of
 * the A-leg's media, written by the media layer's streaming writer (no blocking disk write on the media tick).
 * Started by the number's setting on answer, by `record: true` on originate, mid-call by the API or the AI
 * platform; finished by `stop` or the end of the call. Each recording is a `recordings` row linked to the CDR
 * (calls.recording_id), a `recording.completed` webhook, and, with a transcriber, transcript lines after the call.
 */
export class RecordingService {
  private readonly dir: string;
  private readonly clock: Clock;
  private readonly active = new Map<string, Active>();
  private readonly pending = new Set<Promise<unknown>>();
  private dirReady: Promise<void> | undefined;

  constructor(private readonly opts: RecordingServiceOptions) {
    this.dir = resolve(opts.dir);
    this.clock = opts.clock ?? systemClock;
  }

  /** Calls being recorded now. */
  get recording(): number {
    return this.active.size;
  }

  isRecording(callId: string): boolean {
    return this.active.has(callId);
  }

  /**
   * A call's A-leg media opened (CallManager's onMediaSession): an inbound call to a number that records is
   * recorded from its answer. Never throws.
   */
  mediaOpened(callId: string): void {
    const call = this.opts.calls.call(callId);
    const policy = this.opts.numberRecords;
    if (!call || call.direction !== 'inbound' || !policy || call.a.callId !== callId) return;
    policy(call.to).then(
      (yes) => {
        if (yes) this.recordWhenAnswered(callId, 'number');
      },
      (err: unknown) => this.opts.logger?.warn({ err, callId }, 'recording policy lookup failed; not recording'),
    );
  }

  /** Record the call from its answer (now, if answered already); `source` says who asked. No-op for unknown calls. */
  recordWhenAnswered(callId: string, source: RecordingSource): boolean {
    const call = this.opts.calls.call(callId);
    if (!call || call.isEnded) return false;
    const go = (): void => {
      this.start(callId, source).catch((err: unknown) => {
        if (!(err instanceof RecordingError && (err.code === 'ALREADY_RECORDING' || err.code === 'CALL_NOT_FOUND'))) {
          this.opts.logger?.warn({ err, callId }, 'could not start recording');
        }
      });
    };
    if (call.isAnswered) {
      go();
      return true;
    }
    const onState = (_from: string, to: string): void => {
      if (to !== 'answered') return;
      call.off('statechange', onState);
      go();
    };
    call.on('statechange', onState);
    call.once('ended', () => call.off('statechange', onState));
    return true;
  }

  /**
   * Start recording an answered call. Rejects with RecordingError: CALL_NOT_FOUND, CALL_STATE (not answered or no
   * media), ALREADY_RECORDING, RECORDING_IO (the file cannot be created).
   */
  async start(callId: string, source: RecordingSource = 'api'): Promise<RecordingRecord> {
    const call = this.opts.calls.call(callId);
    if (!call || call.isEnded) throw new RecordingError('CALL_NOT_FOUND', `no active call ${callId}`);
    if (!call.isAnswered) throw new RecordingError('CALL_STATE', `call ${callId} is ${call.state}: only answered calls are recorded`);
    const media = call.a.media;
    if (!media || media.isClosed) throw new RecordingError('CALL_STATE', `call ${callId} has no media`);
    if (this.active.has(callId) || media.isRecording) throw new RecordingError('ALREADY_RECORDING', `call ${callId} is already being recorded`);
    await (this.dirReady ??= mkdir(this.dir, { recursive: true }).then(() => undefined));
    const stamp = new Date(this.clock.wallNow()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const fileName = `${stamp}-${fileStem(callId)}-${randomBytes(3).toString('hex')}.wav`;
    const filePath = join(this.dir, fileName);
    try {
      await media.record(filePath, { mode: 'stereo' });
    } catch (err) {
      if (media.isRecording || this.active.has(callId)) throw new RecordingError('ALREADY_RECORDING', `call ${callId} is already being recorded`);
      throw new RecordingError('RECORDING_IO', `cannot create ${filePath}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (call.isEnded || media.isClosed) {
      await media.stopRecording().catch(() => null);
      throw new RecordingError('CALL_NOT_FOUND', `call ${callId} ended`);
    }
    let record: RecordingRecord;
    try {
      record = await this.opts.store.create({
        callId,
        filePath,
        fileName,
        channels: 2,
        sampleRate: SAMPLE_RATE,
        layout: 'caller-left',
        source,
        instanceId: this.opts.instanceId,
        startedAt: new Date(this.clock.wallNow()),
      });
    } catch (err) {
      await media.stopRecording().catch(() => null);
      throw err;
    }
    const onEnded = (): void => void this.finish(callId);
    call.once('ended', onEnded);
    const a: Active = { record, media, call, offEnded: () => call.off('ended', onEnded) };
    this.active.set(callId, a);
    call.note('recording.started', { recording_id: record.id, file_name: fileName, source });
    // The call may have ended while the row was written.
    if (call.isEnded || media.isClosed) void this.finish(callId);
    return record;
  }

  /** Stop a call's recording; resolves with the completed row (undefined when it could not be completed). */
  async stop(callId: string): Promise<RecordingRecord | undefined> {
    if (!this.active.has(callId)) throw new RecordingError('NOT_RECORDING', `call ${callId} is not being recorded`);
    return this.finish(callId);
  }

  /** Finish every recording (shutdown) and wait for completions and transcriptions in flight. */
  async close(): Promise<void> {
    await Promise.all([...this.active.keys()].map((id) => this.finish(id)));
    await Promise.all([...this.pending]);
  }

  private finish(callId: string): Promise<RecordingRecord | undefined> {
    const a = this.active.get(callId);
    if (!a) return Promise.resolve(undefined);
    a.finishing ??= this.complete(a).finally(() => {
      if (this.active.get(callId) === a) this.active.delete(callId);
    });
    return a.finishing;
  }

  private async complete(a: Active): Promise<RecordingRecord | undefined> {
    a.offEnded();
    const { record, media, call } = a;
    let durationS: number;
    let sizeBytes: number;
    try {
      const summary = await media.stopRecording();
      // The leg closed first (the caller hung up): close() finishes the file; wait for it.
      if (!summary) await media.close();
      sizeBytes = (await stat(record.filePath)).size;
      durationS = summary ? summary.durationMs / 1000 : Math.max(0, sizeBytes - WAV_HEADER_BYTES) / (SAMPLE_RATE * 2 * record.channels);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.opts.logger?.warn({ err, callId: record.callId, recordingId: record.id }, 'recording failed');
      await this.opts.store.fail(record.id, message).catch(() => undefined);
      return undefined;
    }
    durationS = Math.round(durationS * 1000) / 1000;
    const done = await this.opts.store.complete(record.id, { durationS, sizeBytes, endedAt: new Date(this.clock.wallNow()) });
    if (!done) return undefined;
    call.note('recording.completed', { recording_id: done.id, duration_s: durationS, size_bytes: sizeBytes });
    this.opts.logger?.info({ callId: done.callId, recordingId: done.id, durationS, sizeBytes }, 'recording completed');
    const url = call.webhookUrl;
    if (url && this.opts.webhooks) {
      this.opts.webhooks.notify(url, done.callId, {
        event: 'recording.completed',
        call_id: done.callId,
        recording_id: done.id,
        file_name: done.fileName,
        format: 'wav',
        channels: done.channels,
        sample_rate: done.sampleRate,
        layout: done.layout,
        duration_s: durationS,
        size_bytes: sizeBytes,
        source: done.source,
        audio_url: `/api/recordings/${done.id}/audio`,
        timestamp: new Date(this.clock.wallNow()).toISOString(),
      });
    }
    if (this.opts.transcriber) {
      // Transcribed after the call: a recording stopped mid-call waits for the end.
      if (call.isEnded) this.track(this.transcribe(done));
      else call.once('ended', () => this.track(this.transcribe(done)));
    }
    return done;
  }

  private async transcribe(rec: RecordingRecord): Promise<void> {
    const transcriber = this.opts.transcriber;
    const sink = this.opts.transcripts;
    if (!transcriber || !sink) return;
    try {
      const entries = await transcriber.transcribe({ callId: rec.callId, recordingId: rec.id, filePath: rec.filePath, channels: rec.channels, sampleRate: rec.sampleRate });
      for (const e of entries) await sink.append(rec.callId, TRANSCRIPT_EVENT, transcriptEventData(e, 'transcriber', rec.id));
      this.opts.logger?.info({ callId: rec.callId, recordingId: rec.id, lines: entries.length }, 'recording transcribed');
    } catch (err) {
      this.opts.logger?.warn({ err, callId: rec.callId, recordingId: rec.id }, 'transcription failed');
    }
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
