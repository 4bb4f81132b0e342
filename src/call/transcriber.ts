import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { CodedError } from '../util';
import type { JsonObject } from './json';

/** One line of a call's transcript. Times are seconds from the start of the audio they come from. */
export interface TranscriptEntry {
  readonly speaker: string;
  readonly text: string;
  readonly start?: number;
  readonly end?: number;
}

/** Where a transcript line came from: the AI platform during the call, or a transcriber over the recording. */
export type TranscriptSource = 'ai' | 'transcriber';

/** The call event type transcript lines are stored under (call_events, read back by the transcript API). */
export const TRANSCRIPT_EVENT = 'transcript';

/** The call_events payload of a transcript line. */
export function transcriptEventData(entry: TranscriptEntry, source: TranscriptSource, recordingId?: string): JsonObject {
  const data: JsonObject = { speaker: entry.speaker, text: entry.text, source };
  if (entry.start !== undefined) data['start'] = entry.start;
  if (entry.end !== undefined) data['end'] = entry.end;
  if (recordingId !== undefined) data['recording_id'] = recordingId;
  return data;
}

/** A completed recording to transcribe. */
export interface TranscriptionJob {
  readonly callId: string;
  readonly recordingId: string;
  readonly filePath: string;
  readonly channels: 1 | 2;
  readonly sampleRate: number;
}

/** Turns a recording into transcript lines (a speech-to-text service). */
export interface Transcriber {
  transcribe(job: TranscriptionJob): Promise<TranscriptEntry[]>;
}

export class TranscriberError extends CodedError {
  constructor(code: 'TRANSCRIBER_NETWORK' | 'TRANSCRIBER_TIMEOUT' | 'TRANSCRIBER_STATUS' | 'TRANSCRIBER_BODY', message: string) {
    super(code, message);
  }
}

export interface HttpTranscriberOptions {
  /** TRANSCRIBER_URL. */
  url: string;
  /** Whole request budget, ms (default 120 s: a long call takes a while to transcribe). */
  timeoutMs?: number;
  /** Largest answer accepted, bytes (default 4 MiB). */
  maxBodyBytes?: number;
  /** Extra request headers (an API key). */
  headers?: Readonly<Record<string, string>>;
  /** Signs the request (e.g. HMAC of the call and recording ids); the value goes in `X-Signature`. */
  sign?: (payload: string) => string;
}

/** Speaker names of the channels of a stereo recording (left = the caller, right = the other side). */
const CHANNEL_SPEAKERS = ['caller', 'agent'];

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function seconds(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/**
 * Read a transcriber's JSON answer: `{ "entries" | "segments" | "utterances": [{ speaker | channel, text, start,
 * end }] }`, or `{ "text": "..." }` for services that return one block. Unknown fields are ignored; lines without
 * text are dropped.
 */
export function parseTranscriberAnswer(body: unknown): TranscriptEntry[] {
  if (body === null || typeof body !== 'object') throw new TranscriberError('TRANSCRIBER_BODY', 'the transcriber answer is not a JSON object');
  const o = body as Record<string, unknown>;
  const list = o['entries'] ?? o['segments'] ?? o['utterances'];
  if (Array.isArray(list)) {
    const out: TranscriptEntry[] = [];
    for (const item of list.slice(0, 100_000)) {
      if (item === null || typeof item !== 'object') continue;
      const e = item as Record<string, unknown>;
      const text = str(e['text']) ?? str(e['transcript']);
      if (text === undefined) continue;
      const channel = typeof e['channel'] === 'number' ? CHANNEL_SPEAKERS[e['channel']] : undefined;
      const speaker = str(e['speaker']) ?? channel ?? 'unknown';
      const start = seconds(e['start']);
      const end = seconds(e['end']);
      out.push({ speaker: speaker.slice(0, 100), text: text.slice(0, 10_000), ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) });
    }
    return out;
  }
  const text = str(o['text']);
  if (text !== undefined) return [{ speaker: 'unknown', text: text.slice(0, 100_000) }];
  throw new TranscriberError('TRANSCRIBER_BODY', 'the transcriber answer has neither entries nor text');
}

function isAbort(err: unknown): boolean {
  const name = err !== null && typeof err === 'object' ? (err as { name?: unknown }).name : undefined;
  return name === 'TimeoutError' || name === 'AbortError';
}

/**
 * Posts the recording (`Content-Type: audio/wav`, streamed from disk) to TRANSCRIBER_URL after the call, with the
 * call and recording ids and the channel layout in headers, and reads the transcript from its JSON answer.
 */
export class HttpTranscriber implements Transcriber {
  constructor(private readonly options: HttpTranscriberOptions) {
    const u = new URL(options.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`transcriber URL must be http(s), got ${options.url}`);
  }

  async transcribe(job: TranscriptionJob): Promise<TranscriptEntry[]> {
    const size = (await stat(job.filePath)).size;
    // Streamed from disk: a long call's recording is never held in memory whole.
    const file = createReadStream(job.filePath);
    const headers: Record<string, string> = {
      ...this.options.headers,
      'content-type': 'audio/wav',
      'content-length': String(size),
      accept: 'application/json',
      'x-call-id': job.callId,
      'x-recording-id': job.recordingId,
      'x-channels': String(job.channels),
      'x-channel-layout': job.channels === 2 ? 'left=caller;right=agent' : 'mixed',
    };
    if (this.options.sign) headers['x-signature'] = this.options.sign(`${job.callId}.${job.recordingId}`);
    const timeoutMs = this.options.timeoutMs ?? 120_000;
    let res: Response;
    try {
      res = await fetch(this.options.url, {
        method: 'POST',
        headers,
        body: Readable.toWeb(file) as unknown as ReadableStream<Uint8Array>,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
        duplex: 'half',
      } as RequestInit);
    } catch (err) {
      if (isAbort(err)) throw new TranscriberError('TRANSCRIBER_TIMEOUT', `transcriber did not answer within ${timeoutMs} ms`);
      const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
      throw new TranscriberError('TRANSCRIBER_NETWORK', `transcriber request failed: ${err instanceof Error ? err.message : String(err)}${cause}`);
    } finally {
      file.destroy();
    }
    if (res.status < 200 || res.status > 299) {
      await res.body?.cancel().catch(() => undefined);
      throw new TranscriberError('TRANSCRIBER_STATUS', `transcriber answered HTTP ${res.status}`);
    }
    const max = this.options.maxBodyBytes ?? 4 * 1024 * 1024;
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > max) {
      await res.body?.cancel().catch(() => undefined);
      throw new TranscriberError('TRANSCRIBER_BODY', `transcriber answer exceeds ${max} bytes`);
    }
    const text = await res.text();
    if (Buffer.byteLength(text) > max) throw new TranscriberError('TRANSCRIBER_BODY', `transcriber answer exceeds ${max} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new TranscriberError('TRANSCRIBER_BODY', 'transcriber answer is not JSON');
    }
    return parseTranscriberAnswer(body);
  }
}
