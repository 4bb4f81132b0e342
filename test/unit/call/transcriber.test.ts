import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpTranscriber, parseTranscriberAnswer, TranscriberError, transcriptEventData } from '../../../src/call';

describe('parseTranscriberAnswer', () => {
  it('reads entries, segments or utterances, naming stereo channels', () => {
    expect(parseTranscriberAnswer({ entries: [{ speaker: 'bot', text: ' hi ', start: 1, end: 2 }] })).toEqual([{ speaker: 'bot', text: 'hi', start: 1, end: 2 }]);
    expect(parseTranscriberAnswer({ segments: [{ channel: 0, text: 'a' }, { channel: 1, text: 'b' }, { text: '' }, null, 3] })).toEqual([
      { speaker: 'caller', text: 'a' },
      { speaker: 'agent', text: 'b' },
    ]);
    expect(parseTranscriberAnswer({ utterances: [{ transcript: 'x', start: -1 }] })).toEqual([{ speaker: 'unknown', text: 'x' }]);
    expect(parseTranscriberAnswer({ text: 'all of it' })).toEqual([{ speaker: 'unknown', text: 'all of it' }]);
  });

  it('rejects answers without a transcript', () => {
    for (const bad of [null, 'text', 42, {}, { text: '  ' }]) {
      expect(() => parseTranscriberAnswer(bad)).toThrow(TranscriberError);
    }
  });

  it('stores lines as call event data with their source', () => {
    expect(transcriptEventData({ speaker: 'caller', text: 'hi', start: 0.5 }, 'transcriber', 'r1')).toEqual({ speaker: 'caller', text: 'hi', start: 0.5, source: 'transcriber', recording_id: 'r1' });
    expect(transcriptEventData({ speaker: 'ai', text: 'hello' }, 'ai')).toEqual({ speaker: 'ai', text: 'hello', source: 'ai' });
  });
});

describe('HttpTranscriber', () => {
  let server: Server;
  let dir: string;
  let status = 200;
  let answer = '';
  const seen: { headers: Record<string, unknown>; body: Buffer }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'transcriber-'));
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        seen.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(status, { 'content-type': 'application/json' }).end(answer);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const url = (): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}/stt`;

  it('posts the WAV with the call and recording ids and reads the transcript', async () => {
    const file = join(dir, 'a.wav');
    writeFileSync(file, Buffer.from('RIFF....WAVEdata'));
    status = 200;
    answer = JSON.stringify({ segments: [{ channel: 0, text: 'hello', start: 0, end: 1 }] });
    const t = new HttpTranscriber({ url: url(), sign: (p) => `sig:${p}` });
    const entries = await t.transcribe({ callId: 'c1', recordingId: 'r1', filePath: file, channels: 2, sampleRate: 8000 });
    expect(entries).toEqual([{ speaker: 'caller', text: 'hello', start: 0, end: 1 }]);
    const req = seen[seen.length - 1];
    expect(req.body.toString()).toBe('RIFF....WAVEdata');
    expect(req.headers).toMatchObject({ 'content-type': 'audio/wav', 'x-call-id': 'c1', 'x-recording-id': 'r1', 'x-channels': '2', 'x-signature': 'sig:c1.r1' });
  });

  it('fails with a coded error on a non-2xx answer or a non-JSON body', async () => {
    const file = join(dir, 'b.wav');
    writeFileSync(file, Buffer.from('RIFF'));
    const t = new HttpTranscriber({ url: url() });
    status = 500;
    answer = '{}';
    await expect(t.transcribe({ callId: 'c', recordingId: 'r', filePath: file, channels: 1, sampleRate: 8000 })).rejects.toMatchObject({ code: 'TRANSCRIBER_STATUS' });
    status = 200;
    answer = 'not json';
    await expect(t.transcribe({ callId: 'c', recordingId: 'r', filePath: file, channels: 1, sampleRate: 8000 })).rejects.toMatchObject({ code: 'TRANSCRIBER_BODY' });
  });

  it('refuses a non-http URL', () => {
    expect(() => new HttpTranscriber({ url: 'ftp://example.com/x' })).toThrow(TypeError);
  });
});
