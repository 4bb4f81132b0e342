import fc from 'fast-check';
import { StreamFramer, type StreamFramerSink } from '../../../../src/sip/transport';

class Collector implements StreamFramerSink {
  readonly frames: string[] = [];
  onFrame(message: Buffer): void {
    this.frames.push(message.toString('latin1'));
  }
  onKeepAlive(): void {
    // counted elsewhere
  }
}

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,12}$/);
const headerValue = fc.stringMatching(/^[ -~]{0,40}$/).map((s) => s.trim());
const lengthName = fc.constantFrom('Content-Length', 'content-length', 'CONTENT-LENGTH', 'l', 'L');
const lengthSep = fc.constantFrom(': ', ':', ' : ', ':\r\n ', ':\t');

/** A framable SIP message: random start-line, headers, a Content-Length spelled any legal way, a latin1 body. */
const message = fc
  .record({
    method: fc.constantFrom('INVITE', 'ACK', 'BYE', 'OPTIONS', 'MESSAGE', 'X-CUSTOM'),
    headers: fc.array(fc.tuple(token, headerValue), { maxLength: 6 }),
    lengthName,
    lengthSep,
    body: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString('latin1')),
  })
  .filter((m) => m.headers.every(([name]) => !/^(content-length|l)$/i.test(name)))
  .map(
    (m) =>
      `${m.method} sip:x@example.com SIP/2.0\r\n` +
      m.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('') +
      `${m.lengthName}${m.lengthSep}${m.body.length}\r\n\r\n` +
      m.body,
  );

/** Messages, each optionally preceded by keep-alive CRLFs. */
const stream = fc.array(fc.tuple(fc.constantFrom('', '\r\n', '\r\n\r\n'), message), { minLength: 1, maxLength: 5 });

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

describe('StreamFramer properties', () => {
  it('any split of a valid stream yields the same messages', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 40 }), (parts, cuts) => {
        const messages = parts.map(([, m]) => m);
        const all = Buffer.from(parts.map(([ka, m]) => ka + m).join(''), 'latin1');
        const c = new Collector();
        const f = new StreamFramer(c, 1 << 20);
        for (const chunk of splitAt(all, cuts)) expect(f.push(chunk)).toBe('ok');
        expect(c.frames).toEqual(messages);
        expect(f.bufferedBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('a strict prefix of a valid stream is partial, never invalid', () => {
    fc.assert(
      fc.property(stream, fc.nat(), (parts, cut) => {
        const all = Buffer.from(parts.map(([ka, m]) => ka + m).join(''), 'latin1');
        const c = new Collector();
        const f = new StreamFramer(c, 1 << 20);
        expect(f.push(all.subarray(0, cut % all.length))).toBe('ok');
        expect(f.failure).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary bytes and never delivers more bytes than it was given', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), (chunks) => {
        const c = new Collector();
        const f = new StreamFramer(c, 4096);
        let total = 0;
        for (const chunk of chunks) {
          total += chunk.length;
          const status = f.push(Buffer.from(chunk));
          expect(['ok', 'oversize', 'invalid-framing']).toContain(status);
        }
        const delivered = c.frames.reduce((n, s) => n + s.length, 0);
        expect(delivered + f.bufferedBytes).toBeLessThanOrEqual(total);
      }),
      { numRuns: 300 },
    );
  });
});
