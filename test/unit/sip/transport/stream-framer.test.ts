import { StreamFramer, type StreamFramerSink } from '../../../../src/sip/transport';

class Collector implements StreamFramerSink {
  readonly frames: string[] = [];
  readonly buffers: Buffer[] = [];
  readonly keepAlives: Array<'ping' | 'pong'> = [];
  onFrame(message: Buffer): void {
    this.buffers.push(message);
    this.frames.push(message.toString('latin1'));
  }
  onKeepAlive(kind: 'ping' | 'pong'): void {
    this.keepAlives.push(kind);
  }
}

function msg(body = '', extra = ''): string {
  return (
    'MESSAGE sip:bob@example.com SIP/2.0\r\n' +
    'Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK776\r\n' +
    `Call-ID: ${Math.random().toString(36).slice(2)}@host\r\n` +
    extra +
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n` +
    body
  );
}

function framer(max?: number): { f: StreamFramer; c: Collector } {
  const c = new Collector();
  return { f: new StreamFramer(c, max), c };
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('StreamFramer', () => {
  it('delivers a single message with a zero-length body', () => {
    const { f, c } = framer();
    const m = msg();
    expect(f.push(b(m))).toBe('ok');
    expect(c.frames).toEqual([m]);
    expect(f.bufferedBytes).toBe(0);
  });

  it('delivers a body of exactly Content-Length bytes', () => {
    const { f, c } = framer();
    const m = msg('Hello, world\r\n\r\nwith a blank line inside');
    expect(f.push(b(m))).toBe('ok');
    expect(c.frames).toEqual([m]);
  });

  it('delivers several messages from one chunk, as views of it (zero copy)', () => {
    const { f, c } = framer();
    const ms = [msg('one'), msg(), msg('three!')];
    const chunk = b(ms.join(''));
    f.push(chunk);
    expect(c.frames).toEqual(ms);
    for (const frame of c.buffers) expect(frame.buffer).toBe(chunk.buffer);
  });

  it('assembles a message split byte by byte', () => {
    const { f, c } = framer();
    const ms = [msg('body one'), msg('body two')];
    const all = b(ms.join(''));
    for (let i = 0; i < all.length; i++) expect(f.push(all.subarray(i, i + 1))).toBe('ok');
    expect(c.frames).toEqual(ms);
    expect(f.bufferedBytes).toBe(0);
  });

  it('waits for the rest of a body split across chunks', () => {
    const { f, c } = framer();
    const m = msg('0123456789');
    const cut = m.length - 4;
    f.push(b(m.slice(0, cut)));
    expect(c.frames).toEqual([]);
    expect(f.bufferedBytes).toBe(cut);
    f.push(b(m.slice(cut)));
    expect(c.frames).toEqual([m]);
  });

  it('finds a header end split across chunk boundaries at every position', () => {
    const m = msg('xyz');
    const end = m.indexOf('\r\n\r\n');
    for (let cut = end - 1; cut <= end + 5; cut++) {
      const { f, c } = framer();
      f.push(b(m.slice(0, cut)));
      f.push(b(m.slice(cut)));
      expect(c.frames).toEqual([m]);
    }
  });

  it('keeps a message that was delivered intact when the buffer it came from is reused for the next', () => {
    const { f, c } = framer();
    const m1 = msg('first');
    const m2 = msg('second');
    const all = m1 + m2;
    f.push(b(all.slice(0, m1.length + 10)));
    f.push(b(all.slice(m1.length + 10)));
    expect(c.frames).toEqual([m1, m2]);
    expect(c.buffers[0].toString('latin1')).toBe(m1);
  });

  it('accepts the compact form and folded Content-Length', () => {
    const { f, c } = framer();
    const m = 'OPTIONS sip:a@b SIP/2.0\r\nl:\r\n 4\r\n\r\nabcd';
    f.push(b(m + m));
    expect(c.frames).toEqual([m, m]);
  });

  it('skips CRLFs between messages', () => {
    const { f, c } = framer();
    const m = msg('x');
    f.push(b(`\r\n${m}\r\n${m}`));
    expect(c.frames).toEqual([m, m]);
  });

  it('reports a double-CRLF ping and a single-CRLF pong (RFC 5626 §4.4.1)', () => {
    const { f, c } = framer();
    f.push(b('\r\n\r\n'));
    expect(c.keepAlives).toEqual(['ping']);
    f.push(b('\r\n'));
    expect(c.keepAlives).toEqual(['ping', 'pong']);
    const m = msg();
    f.push(b(`\r\n\r\n${m}`));
    expect(c.keepAlives).toEqual(['ping', 'pong', 'ping']);
    expect(c.frames).toEqual([m]);
  });

  it('recognises a ping split in the middle of a CRLF', () => {
    const { f, c } = framer();
    f.push(b('\r\n\r'));
    expect(c.keepAlives).toEqual([]);
    f.push(b('\n'));
    expect(c.keepAlives).toEqual(['ping']);
  });

  it('fails with invalid-framing when Content-Length is missing (RFC 3261 §18.3)', () => {
    const { f, c } = framer();
    const head = 'INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n';
    expect(f.push(b(head + msg()))).toBe('invalid-framing');
    expect(c.frames).toEqual([]);
    expect(f.failure?.reason).toBe('invalid-framing');
    expect(f.failure?.head?.toString('latin1')).toBe(head);
    // After a failure nothing more is framed.
    expect(f.push(b(msg()))).toBe('invalid-framing');
    expect(c.frames).toEqual([]);
  });

  it('fails with invalid-framing on a garbage Content-Length', () => {
    const { f } = framer();
    expect(f.push(b('INVITE sip:a@b SIP/2.0\r\nContent-Length: 1x\r\n\r\n'))).toBe('invalid-framing');
  });

  it('delivers the messages before an invalid one', () => {
    const { f, c } = framer();
    const good = msg('ok');
    expect(f.push(b(`${good}BAD sip:x SIP/2.0\r\nTo: y\r\n\r\n`))).toBe('invalid-framing');
    expect(c.frames).toEqual([good]);
  });

  it('fails with oversize when Content-Length takes the message past the limit, keeping the head', () => {
    const { f, c } = framer(300);
    const head = 'MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1000\r\n\r\n';
    expect(f.push(b(head))).toBe('oversize');
    expect(f.failure).toEqual({ reason: 'oversize', head: b(head) });
    expect(c.frames).toEqual([]);
  });

  it('fails with oversize when the header section never ends within the limit', () => {
    const { f } = framer(256);
    expect(f.push(b('INVITE sip:a@b SIP/2.0\r\n'))).toBe('ok');
    let status = 'ok';
    for (let i = 0; i < 20 && status === 'ok'; i++) status = f.push(b('X-Filler: aaaaaaaaaaaaaaaaaaaa\r\n'));
    expect(status).toBe('oversize');
    expect(f.failure?.head).toBeUndefined();
  });

  it('accepts a message of exactly maxMessageSize', () => {
    const m = msg('z'.repeat(100));
    const { f, c } = framer(m.length);
    expect(f.push(b(m))).toBe('ok');
    expect(c.frames).toEqual([m]);
    const { f: g } = framer(m.length - 1);
    expect(g.push(b(m))).toBe('oversize');
  });

  it('halt() stops framing', () => {
    const { f, c } = framer();
    f.halt();
    f.push(b(msg()));
    expect(c.frames).toEqual([]);
  });
});
