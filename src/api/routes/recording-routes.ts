import { unlink } from 'node:fs/promises';
import { z } from 'zod';
import { RecordingError, TRANSCRIPT_EVENT } from '../../call';
import { InvalidCursorError, type CallEvent, type CallRecord, type RecordingListFilter, type RecordingPage, type RecordingRecord } from '../../store';
import { ApiError } from '../api-error';
import { defineRoute, type RouteDefinition } from '../route-definition';
import { AUTH_RESPONSES, NOT_FOUND_RESPONSE, VALIDATION_RESPONSE, errorSchema, queryInt, uuidSchema } from './common-schemas';

/** Recording control of live calls (RecordingService). */
export interface RecordingControl {
  start(callId: string, source?: 'api'): Promise<RecordingRecord>;
  stop(callId: string): Promise<RecordingRecord | undefined>;
}

/** Stored recordings (RecordingRepository). */
export interface RecordingIndex {
  get(id: string): Promise<RecordingRecord | undefined>;
  list(filter: RecordingListFilter): Promise<RecordingPage>;
  markDeleted(id: string): Promise<boolean>;
}

export interface RecordingRouteDeps {
  /** Absent: the routes answer 503 recordings_unavailable. */
  recordings?: RecordingIndex;
  control?: RecordingControl;
  /** CDR lookup and call events, for the transcript. */
  calls?: { getByCallId(callId: string): Promise<CallRecord | undefined> };
  events?: { listByCall(callId: string, options?: { limit?: number; afterId?: number }): Promise<CallEvent[]> };
}

const TAG = 'Recordings';
const callRef = z.object({ call_id: z.string().min(1).max(256) });
const recordingRef = z.object({ recording_id: uuidSchema });

const recordingSchema = z.object({
  id: z.string(),
  call_id: z.string(),
  status: z.enum(['recording', 'completed', 'failed', 'deleted']),
  source: z.string(),
  file_name: z.string(),
  format: z.string(),
  channels: z.number().int(),
  sample_rate: z.number().int(),
  layout: z.string(),
  duration_s: z.number().nullable(),
  size_bytes: z.number().int().nullable(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  audio_url: z.string(),
});

const transcriptSchema = z.object({
  call_id: z.string(),
  entries: z.array(
    z.object({
      speaker: z.string(),
      text: z.string(),
      start: z.number().nullable(),
      end: z.number().nullable(),
      source: z.string(),
      recording_id: z.string().nullable(),
      at: z.string(),
    }),
  ),
});

function recordingJson(r: RecordingRecord): z.infer<typeof recordingSchema> {
  return {
    id: r.id,
    call_id: r.callId,
    status: r.status,
    source: r.source,
    file_name: r.fileName,
    format: r.format,
    channels: r.channels,
    sample_rate: r.sampleRate,
    layout: r.layout,
    duration_s: r.durationS,
    size_bytes: r.sizeBytes,
    started_at: r.startedAt.toISOString(),
    ended_at: r.endedAt?.toISOString() ?? null,
    audio_url: `/api/recordings/${r.id}/audio`,
  };
}

function recordingError(err: unknown): never {
  if (err instanceof RecordingError) {
    switch (err.code) {
      case 'CALL_NOT_FOUND':
        throw ApiError.notFound(err.message);
      case 'CALL_STATE':
        throw new ApiError(409, 'call_state', err.message);
      case 'ALREADY_RECORDING':
        throw new ApiError(409, 'already_recording', err.message);
      case 'NOT_RECORDING':
        throw new ApiError(409, 'not_recording', err.message);
      case 'RECORDING_IO':
        throw new ApiError(503, 'recording_unavailable', 'the recording file could not be created');
    }
  }
  throw err;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Recordings and transcripts: start/stop recording a live call, list/read/download/delete recordings (downloads
 * honour HTTP Range, RFC 9110 §14), and a call's transcript (lines from the AI during the call and from the
 * transcriber after it). calls:read / calls:write, or admin.
 */
export function recordingRoutes(deps: RecordingRouteDeps): RouteDefinition[] {
  const index = (): RecordingIndex => {
    if (!deps.recordings) throw new ApiError(503, 'recordings_unavailable', 'recordings are not available on this server');
    return deps.recordings;
  };
  const control = (): RecordingControl => {
    if (!deps.control) throw new ApiError(503, 'recordings_unavailable', 'recording is not available on this server');
    return deps.control;
  };
  const load = async (id: string): Promise<RecordingRecord> => {
    const r = await index().get(id);
    if (!r) throw ApiError.notFound(`no recording ${id}`);
    return r;
  };
  return [
    defineRoute({
      method: 'post',
      path: '/api/calls/:call_id/recording/start',
      summary: 'Start recording a call',
      description: 'Stereo WAV, 8 kHz: left channel the caller, right channel the other side (AI, IVR, agent).',
      tag: TAG,
      access: 'calls:write',
      params: callRef,
      responses: {
        201: { description: 'Recording', schema: recordingSchema },
        ...NOT_FOUND_RESPONSE,
        409: { description: 'Not answered yet, or already recording', schema: errorSchema },
        ...AUTH_RESPONSES,
      },
      handle: async ({ params }) => {
        const rec = await control()
          .start(params.call_id, 'api')
          .catch((err: unknown) => recordingError(err));
        return { status: 201, body: recordingJson(rec) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/calls/:call_id/recording/stop',
      summary: 'Stop recording a call',
      tag: TAG,
      access: 'calls:write',
      params: callRef,
      responses: { 200: { description: 'The completed recording', schema: recordingSchema }, 409: { description: 'Not recording', schema: errorSchema }, ...AUTH_RESPONSES },
      handle: async ({ params }) => {
        const rec = await control()
          .stop(params.call_id)
          .catch((err: unknown) => recordingError(err));
        if (!rec) throw new ApiError(500, 'recording_failed', 'the recording could not be completed');
        return { status: 200, body: recordingJson(rec) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/recordings',
      summary: 'List recordings, newest first',
      tag: TAG,
      access: 'calls:read',
      query: z.object({
        call_id: z.string().min(1).max(256).optional(),
        status: z.enum(['recording', 'completed', 'failed', 'deleted']).optional(),
        limit: queryInt(1, 500, 50),
        cursor: z.string().max(200).optional(),
      }),
      responses: { 200: { description: 'A page', schema: z.object({ items: z.array(recordingSchema), next_cursor: z.string().nullable() }) }, ...VALIDATION_RESPONSE, ...AUTH_RESPONSES },
      handle: async ({ query }) => {
        try {
          const page = await index().list({ callId: query.call_id, status: query.status, limit: query.limit, cursor: query.cursor });
          return { status: 200, body: { items: page.items.map(recordingJson), next_cursor: page.nextCursor } };
        } catch (err) {
          if (err instanceof InvalidCursorError) throw ApiError.validation('cursor', err.message);
          throw err;
        }
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/recordings/:recording_id',
      summary: 'Recording metadata',
      tag: TAG,
      access: 'calls:read',
      params: recordingRef,
      responses: { 200: { description: 'The recording', schema: recordingSchema }, ...NOT_FOUND_RESPONSE, ...AUTH_RESPONSES },
      handle: async ({ params }) => ({ status: 200, body: recordingJson(await load(params.recording_id)) }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/recordings/:recording_id/audio',
      summary: 'Download a recording (WAV)',
      description: 'Supports Range requests (206 Partial Content, 416 when unsatisfiable) and conditional requests.',
      tag: TAG,
      access: 'calls:read',
      params: recordingRef,
      responses: {
        200: { description: 'The WAV file', contentType: 'audio/wav' },
        206: { description: 'The requested byte range', contentType: 'audio/wav' },
        ...NOT_FOUND_RESPONSE,
        409: { description: 'Still recording', schema: errorSchema },
        416: { description: 'Range not satisfiable' },
        ...AUTH_RESPONSES,
      },
      handle: async ({ params, res }) => {
        const rec = await load(params.recording_id);
        if (rec.status === 'recording') throw new ApiError(409, 'recording_in_progress', 'the recording is still being written');
        if (rec.status !== 'completed') throw ApiError.notFound(`recording ${rec.id} is ${rec.status}`);
        // express (send) implements Range, If-Range and the conditional headers, and streams from disk.
        await new Promise<void>((resolve, reject) => {
          res.sendFile(
            rec.filePath,
            {
              acceptRanges: true,
              cacheControl: false,
              lastModified: true,
              dotfiles: 'allow',
              headers: { 'Content-Type': 'audio/wav', 'Content-Disposition': `attachment; filename="${rec.fileName.replace(/["\\]/g, '_')}"` },
            },
            (err?: Error) => {
              if (!err) return resolve();
              const code = (err as NodeJS.ErrnoException).code;
              if (res.headersSent) return resolve();
              if (code === 'ENOENT' || code === 'EISDIR') reject(new ApiError(404, 'recording_file_missing', 'the recording file is not on this instance'));
              else if ((err as { status?: number }).status === 416) reject(new ApiError(416, 'range_not_satisfiable', 'the requested range is outside the file'));
              else reject(err);
            },
          );
        });
        return undefined;
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/recordings/:recording_id',
      summary: 'Delete a recording',
      description: 'Removes the file; the row stays as `deleted` so the CDR link remains explainable.',
      tag: TAG,
      access: 'calls:write',
      params: recordingRef,
      responses: { 204: { description: 'Deleted' }, ...NOT_FOUND_RESPONSE, 409: { description: 'Still recording', schema: errorSchema }, ...AUTH_RESPONSES },
      handle: async ({ params }) => {
        const rec = await load(params.recording_id);
        if (rec.status === 'recording') throw new ApiError(409, 'recording_in_progress', 'stop the recording first');
        if (rec.status === 'deleted') throw ApiError.notFound(`recording ${rec.id} is deleted`);
        await unlink(rec.filePath).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
        await index().markDeleted(rec.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/calls/:call_id/transcript',
      summary: "A call's transcript",
      description: 'Lines from the AI platform during the call (source ai) and from the transcriber over the recording (source transcriber), in the order stored.',
      tag: TAG,
      access: 'calls:read',
      params: callRef,
      responses: { 200: { description: 'The transcript', schema: transcriptSchema }, ...NOT_FOUND_RESPONSE, ...AUTH_RESPONSES },
      handle: async ({ params }) => {
        if (!deps.calls || !deps.events) throw new ApiError(503, 'recordings_unavailable', 'transcripts are not available on this server');
        const cdr = await deps.calls.getByCallId(params.call_id);
        if (!cdr) throw ApiError.notFound(`no call ${params.call_id}`);
        const entries: z.infer<typeof transcriptSchema>['entries'] = [];
        let afterId = 0;
        for (;;) {
          const page = await deps.events.listByCall(params.call_id, { afterId, limit: 5000 });
          for (const e of page) {
            if (e.type !== TRANSCRIPT_EVENT) continue;
            const d = e.data;
            entries.push({
              speaker: typeof d['speaker'] === 'string' ? d['speaker'] : 'unknown',
              text: typeof d['text'] === 'string' ? d['text'] : '',
              start: num(d['start']),
              end: num(d['end']),
              source: typeof d['source'] === 'string' ? d['source'] : 'ai',
              recording_id: typeof d['recording_id'] === 'string' ? d['recording_id'] : null,
              at: e.at.toISOString(),
            });
          }
          if (page.length < 5000) break;
          afterId = page[page.length - 1].id;
        }
        return { status: 200, body: { call_id: params.call_id, entries } };
      },
    }),
  ];
}
