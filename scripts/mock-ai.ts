/**
 * A mock AI platform: a real WebSocket server speaking the bridge's protocols (native JSON, Twilio Media Streams,
 * jambonz listen), for local testing and for the bridge's integration tests.
 *
 *   node --require ./bench/register.js scripts/mock-ai.ts --port 8001 --protocol native \
 *     [--greeting hello.wav] [--transfer-to +15551234567] [--hangup-digit '#'] [--transfer-digit 0] \
 *     [--clear-digit '*'] [--token secret] [--no-echo] [--lean]
 *
 * It echoes caller audio back, logs DTMF, plays an optional greeting (followed by a `greeting` mark) when a call
 * starts, hangs up on `#`, transfers on `0` (when --transfer-to is given) and sends a barge-in `clear` on `*`.
 * Tests start `MockAiPlatform` in-process on port 0 and script it through its connections. `--lean` (load tests:
 * bench:bridge-e2e) keeps no message and echoes native audio_data without a JSON round trip, so that thousands of
 * frames per second cost the mock little.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { loadWavAs8kMono, PCMU } from '../src/dsp';
import { TypedEmitter } from '../src/util';

export type MockAiProtocol = 'native' | 'twilio' | 'jambonz';

export interface MockAiOptions {
  port?: number;
  host?: string;
  protocol?: MockAiProtocol;
  /** Echo caller audio back (default true). */
  echo?: boolean;
  /** 8 kHz PCM16 to say when a call starts. */
  greeting?: Int16Array;
  hangupDigit?: string;
  transferDigit?: string;
  transferTo?: string;
  clearDigit?: string;
  /** Require `Authorization: Bearer <token>`; other handshakes get 401. */
  token?: string;
  /**
   * Load-test mode: keep no messages (`messages`, `binary` stay empty) and echo native audio_data by copying its
   * base64 into a prebuilt reply instead of parsing and serializing JSON.
   */
  lean?: boolean;
  log?: (line: string) => void;
}

type JsonValue = Record<string, unknown>;

export type MockAiEvents = {
  connection: [MockAiConnection];
  message: [MockAiConnection, JsonValue];
  dtmf: [MockAiConnection, string];
};

const JAMBONZ_SUBPROTOCOL = 'audio.jambonz.org';

function asObject(v: unknown): JsonValue | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonValue) : undefined;
}

const AUDIO_DATA_PREFIX = Buffer.from('{"type":"audio_data"');
const AUDIO_FIELD = Buffer.from('"audio":"');
const REPLY_SUFFIX = Buffer.from('"}}');

/** The base64 of a native `audio_data` message shaped as the bridge sends it, or undefined for anything else. */
function audioDataBase64(buf: Buffer): Buffer | undefined {
  if (buf.length < AUDIO_DATA_PREFIX.length || buf.compare(AUDIO_DATA_PREFIX, 0, AUDIO_DATA_PREFIX.length, 0, AUDIO_DATA_PREFIX.length) !== 0) return undefined;
  const at = buf.indexOf(AUDIO_FIELD, AUDIO_DATA_PREFIX.length);
  if (at < 0) return undefined;
  const start = at + AUDIO_FIELD.length;
  const end = buf.indexOf(0x22, start);
  return end < 0 ? undefined : buf.subarray(start, end);
}

function pcmToBytes(pcm: Int16Array): Buffer {
  const b = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) b.writeInt16LE(pcm[i], i * 2);
  return b;
}

/** One call's socket as the mock AI sees it; tests drive the AI side through it. */
export class MockAiConnection {
  /** Every JSON text message received, in order. */
  readonly messages: JsonValue[] = [];
  /** Binary frames received (jambonz audio). */
  readonly binary: Buffer[] = [];
  /** Digits received. */
  readonly digits: string[] = [];
  /** Text frames that were not JSON. */
  readonly invalid: string[] = [];
  callId: string | undefined;
  streamSid: string | undefined;
  closed = false;
  closeCode = 0;
  /** `{"type":"audio_data","data":{"call_id":<id>,"audio":"` for this call (lean echo). */
  replyPrefix: Buffer | undefined;

  constructor(
    readonly ws: WebSocket,
    readonly protocol: MockAiProtocol,
    readonly request: IncomingMessage,
  ) {}

  /** Messages of one type (`type` in native/jambonz replies, `event` in Twilio). */
  ofType(type: string): JsonValue[] {
    return this.messages.filter((m) => m.type === type || m.event === type);
  }

  send(msg: JsonValue | string | Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(Buffer.isBuffer(msg) || typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Speak 8 kHz PCM16 to the caller in this protocol's audio message. */
  sendAudio(pcm8k: Int16Array): void {
    switch (this.protocol) {
      case 'native':
        this.send({ type: 'audio_data', data: { call_id: this.callId, audio: pcmToBytes(pcm8k).toString('base64') } });
        return;
      case 'twilio':
        this.send({ event: 'media', streamSid: this.streamSid, media: { payload: Buffer.from(PCMU.encode(pcm8k)).toString('base64') } });
        return;
      case 'jambonz':
        this.send(pcmToBytes(pcm8k));
        return;
    }
  }

  sendMark(name: string): void {
    if (this.protocol === 'twilio') this.send({ event: 'mark', streamSid: this.streamSid, mark: { name } });
    else this.send({ type: 'mark', data: { call_id: this.callId, name } });
  }

  sendClear(): void {
    if (this.protocol === 'twilio') this.send({ event: 'clear', streamSid: this.streamSid });
    else if (this.protocol === 'jambonz') this.send({ type: 'killAudio' });
    else this.send({ type: 'clear', call_id: this.callId });
  }

  sendHangup(): void {
    if (this.protocol === 'native') this.send({ type: 'hangup', call_id: this.callId });
    else if (this.protocol === 'jambonz') this.send({ type: 'disconnect' });
    else this.close(1000); // a Twilio app ends its stream by closing the socket
  }

  sendTransfer(target: string): void {
    this.send({ type: 'transfer', call_id: this.callId, target });
  }

  close(code = 1000, reason = ''): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
  }

  /** Drop the TCP connection without a close handshake (an AI crash). */
  kill(): void {
    this.ws.terminate();
  }

  /** Stop reading from the socket (a slow AI): the bridge's writes back up. */
  pauseReading(): void {
    (this.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  resumeReading(): void {
    (this.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  }
}

export class MockAiPlatform extends TypedEmitter<MockAiEvents> {
  readonly connections: MockAiConnection[] = [];
  private wss: WebSocketServer | null = null;
  private readonly opts: Required<Pick<MockAiOptions, 'protocol' | 'echo' | 'hangupDigit' | 'clearDigit' | 'transferDigit'>> & MockAiOptions;
  private readonly log: (line: string) => void;
  /** HTTP status to refuse the next handshakes with (tests of ai-unavailable). */
  rejectStatus = 0;

  constructor(opts: MockAiOptions = {}) {
    super();
    this.opts = { protocol: 'native', echo: true, hangupDigit: '#', clearDigit: '*', transferDigit: '0', ...opts };
    // Lean mode logs nothing per call: thousands of calls would make the log the mock's main cost.
    this.log = opts.log !== undefined && opts.lean !== true ? opts.log : () => undefined;
  }

  get protocol(): MockAiProtocol {
    return this.opts.protocol;
  }

  /** Listen; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const wss = new WebSocketServer({
        port: this.opts.port ?? 0,
        host: this.opts.host ?? '127.0.0.1',
        perMessageDeflate: false,
        handleProtocols: (protocols) => (protocols.has(JAMBONZ_SUBPROTOCOL) ? JAMBONZ_SUBPROTOCOL : false),
        verifyClient: (info, cb) => {
          if (this.rejectStatus) return cb(false, this.rejectStatus);
          if (this.opts.token && info.req.headers.authorization !== `Bearer ${this.opts.token}`) return cb(false, 401);
          cb(true);
        },
      });
      wss.once('error', reject);
      wss.once('listening', () => {
        wss.off('error', reject);
        resolve((wss.address() as AddressInfo).port);
      });
      wss.on('connection', (ws, req) => this.onConnection(ws, req));
      this.wss = wss;
    });
  }

  get port(): number {
    return this.wss ? (this.wss.address() as AddressInfo).port : 0;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws/voice`;
  }

  /** Resolves with the next connection (or the n-th overall when it already exists). */
  waitForConnection(index = this.connections.length): Promise<MockAiConnection> {
    if (this.connections.length > index) return Promise.resolve(this.connections[index]);
    return new Promise((resolve) => {
      const on = (): void => {
        if (this.connections.length > index) {
          this.off('connection', on);
          resolve(this.connections[index]);
        }
      };
      this.on('connection', on);
    });
  }

  async close(): Promise<void> {
    const wss = this.wss;
    this.wss = null;
    if (!wss) return;
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const conn = new MockAiConnection(ws, this.opts.protocol, req);
    this.connections.push(conn);
    this.log(`connection from ${req.socket.remoteAddress ?? '?'} (${this.opts.protocol})`);
    const lean = this.opts.lean === true;
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (lean && !isBinary && conn.replyPrefix !== undefined && this.opts.echo) {
        const b64 = audioDataBase64(buf);
        if (b64 !== undefined) {
          if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([conn.replyPrefix, b64, REPLY_SUFFIX]), { binary: false });
          return;
        }
      }
      if (isBinary) {
        if (!lean) conn.binary.push(Buffer.from(buf));
        if (this.opts.echo && this.opts.protocol === 'jambonz') conn.send(Buffer.from(buf));
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(buf.toString('utf8'));
      } catch {
        conn.invalid.push(buf.toString('utf8'));
        return;
      }
      const msg = asObject(parsed);
      if (!msg) return;
      if (!lean) conn.messages.push(msg);
      this.handle(conn, msg);
      this.safeEmit('message', conn, msg);
    });
    ws.on('close', (code: number) => {
      conn.closed = true;
      conn.closeCode = code;
      if (lean) {
        // Keep nothing of finished calls in a long load run.
        const i = this.connections.indexOf(conn);
        if (i >= 0) this.connections.splice(i, 1);
      }
      this.log(`connection closed (${code})`);
    });
    ws.on('error', () => undefined);
    this.safeEmit('connection', conn);
  }

  private handle(conn: MockAiConnection, msg: JsonValue): void {
    const p = this.opts.protocol;
    const data = asObject(msg.data);
    if (p === 'native') {
      switch (msg.type) {
        case 'call_start':
          conn.callId = typeof data?.call_id === 'string' ? data.call_id : undefined;
          if (conn.callId !== undefined) conn.replyPrefix = Buffer.from(`{"type":"audio_data","data":{"call_id":${JSON.stringify(conn.callId)},"audio":"`);
          this.log(`call_start ${conn.callId ?? '?'} ${String(data?.from_number)} -> ${String(data?.to_number)}${data?.resumed ? ' (resumed)' : ''}`);
          this.greet(conn);
          return;
        case 'audio_data':
          if (this.opts.echo && typeof data?.audio === 'string') conn.send({ type: 'audio_data', data: { call_id: conn.callId, audio: data.audio } });
          return;
        case 'dtmf':
          this.onDigit(conn, String(data?.digit ?? ''));
          return;
        case 'call_end':
          this.log(`call_end ${String(data?.reason)} after ${String(data?.duration)} s`);
          return;
        case 'error':
          this.log(`error from bridge: ${String(data?.code)} ${String(data?.message)}`);
          return;
        default:
          return;
      }
    }
    if (p === 'twilio') {
      switch (msg.event) {
        case 'start': {
          const start = asObject(msg.start);
          conn.streamSid = typeof start?.streamSid === 'string' ? start.streamSid : undefined;
          conn.callId = typeof start?.callSid === 'string' ? start.callSid : undefined;
          this.log(`start ${conn.streamSid ?? '?'}`);
          this.greet(conn);
          return;
        }
        case 'media': {
          const payload = asObject(msg.media)?.payload;
          if (this.opts.echo && typeof payload === 'string') conn.send({ event: 'media', streamSid: conn.streamSid, media: { payload } });
          return;
        }
        case 'dtmf':
          this.onDigit(conn, String(asObject(msg.dtmf)?.digit ?? ''));
          return;
        default:
          return;
      }
    }
    // jambonz: the first text frame is the call metadata; later ones are events.
    if (conn.callId === undefined && typeof msg.callSid === 'string') {
      conn.callId = msg.callSid;
      this.log(`listen ${conn.callId} at ${String(msg.sampleRate)} Hz`);
      this.greet(conn);
      return;
    }
    if (msg.event === 'dtmf') this.onDigit(conn, String(msg.dtmf ?? ''));
  }

  private greet(conn: MockAiConnection): void {
    const g = this.opts.greeting;
    if (!g || g.length === 0) return;
    // 100 ms chunks: the bridge must accept any chunk size and pace playout itself.
    for (let i = 0; i < g.length; i += 800) conn.sendAudio(g.subarray(i, Math.min(g.length, i + 800)));
    conn.sendMark('greeting');
  }

  private onDigit(conn: MockAiConnection, digit: string): void {
    conn.digits.push(digit);
    this.log(`dtmf ${digit}`);
    this.safeEmit('dtmf', conn, digit);
    if (digit === this.opts.hangupDigit) conn.sendHangup();
    else if (digit === this.opts.transferDigit && this.opts.transferTo) {
      if (conn.protocol === 'native') conn.sendTransfer(this.opts.transferTo);
      else this.log(`transfer is not part of the ${conn.protocol} protocol; ignoring`);
    } else if (digit === this.opts.clearDigit) conn.sendClear();
  }
}

function parseArgs(argv: string[]): MockAiOptions {
  const opts: MockAiOptions = { port: 8001, host: '0.0.0.0', log: (line) => console.log(`[mock-ai] ${line}`) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--port':
        opts.port = Number(next());
        break;
      case '--host':
        opts.host = next();
        break;
      case '--protocol': {
        const p = next();
        if (p !== 'native' && p !== 'twilio' && p !== 'jambonz') throw new Error(`--protocol must be native, twilio or jambonz`);
        opts.protocol = p;
        break;
      }
      case '--greeting':
        opts.greeting = loadWavAs8kMono(readFileSync(next()));
        break;
      case '--transfer-to':
        opts.transferTo = next();
        break;
      case '--hangup-digit':
        opts.hangupDigit = next();
        break;
      case '--transfer-digit':
        opts.transferDigit = next();
        break;
      case '--clear-digit':
        opts.clearDigit = next();
        break;
      case '--token':
        opts.token = next();
        break;
      case '--no-echo':
        opts.echo = false;
        break;
      case '--lean':
        opts.lean = true;
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  return opts;
}

if (require.main === module) {
  let opts: MockAiOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  }
  const mock = new MockAiPlatform(opts);
  mock.listen().then(
    (port) => console.log(`[mock-ai] ${mock.protocol} protocol on ws://${opts.host}:${port}/`),
    (err: unknown) => {
      console.error(`[mock-ai] cannot listen: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
  const stop = (): void => {
    void mock.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
