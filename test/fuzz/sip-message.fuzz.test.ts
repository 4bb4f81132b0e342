/**
 * Property tests of the SIP message layer (fast-check), time-boxed: modest numRuns, each property capped by
 * `interruptAfterTimeLimit` so the whole file stays within a few seconds on a loaded machine.
 */
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  SipParseError,
  SipRequest,
  formatNameAddr,
  formatUri,
  formatVia,
  frameStreamMessage,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
} from '../../src/sip/message';
import type { SipMessage } from '../../src/sip/message';

const LIMIT = { interruptAfterTimeLimit: 2000, markInterruptAsFailure: false };
const TORTURE = join(__dirname, '..', 'fixtures', 'sip', 'torture');

function fixtures(): Buffer[] {
  const out: Buffer[] = [];
  for (const dir of readdirSync(TORTURE)) {
    for (const f of readdirSync(join(TORTURE, dir))) out.push(readFileSync(join(TORTURE, dir, f)));
  }
  return out;
}
const SEEDS = fixtures();

/** Reads every typed getter, catching only the documented SipHeaderError. */
function touchAll(m: SipMessage): void {
  const getters: Array<() => unknown> = [
    () => m.vias, () => m.from, () => m.to, () => m.callId, () => m.cseq, () => m.contacts, () => m.routes,
    () => m.recordRoutes, () => m.maxForwards, () => m.contentType, () => m.fromTag, () => m.toTag, () => m.branch,
  ];
  for (const g of getters) {
    try {
      g();
    } catch (e) {
      expect((e as Error).name).toBe('SipHeaderError');
    }
  }
  m.serialize();
}

const token = fc.stringMatching(/^[A-Za-z0-9\-.!%*_+`'~]{1,12}$/);
const host = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,3}$/),
  fc.ipV4(),
  fc.ipV6().map((a) => `[${a}]`),
);
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
const user = fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: undefined });
const display = fc.option(fc.string({ maxLength: 16 }).filter((s) => !/[\r\n]/.test(s)), { nil: undefined });
const method = fc.constantFrom('INVITE', 'OPTIONS', 'BYE', 'REGISTER', 'MESSAGE', 'X-CUSTOM');

const sipUriText = fc.record({ scheme: fc.constantFrom('sip', 'sips'), user, host, port, lr: fc.boolean() }).map((u) =>
  formatUri({ scheme: u.scheme, user: u.user, host: u.host, port: u.port, params: new Map(u.lr ? [['lr', null]] : []), headers: new Map() }),
);

/** A valid request built from generated parts. */
const validRequest = fc
  .record({
    method,
    ruri: sipUriText,
    viaHost: host,
    viaPort: port,
    branch: token,
    fromUri: sipUriText,
    fromName: display,
    fromTag: token,
    toUri: sipUriText,
    callId: fc.stringMatching(/^[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]{1,20}(@[a-z0-9.]{1,10})?$/),
    seq: fc.integer({ min: 0, max: 0x7fffffff }),
    maxFwd: fc.integer({ min: 0, max: 255 }),
    extra: fc.array(fc.tuple(token, fc.string({ maxLength: 20 }).filter((s) => !/[\r\n]/.test(s))), { maxLength: 4 }),
    body: fc.uint8Array({ maxLength: 64 }),
  })
  .map((r) => {
    const from = formatNameAddr({ displayName: r.fromName, uri: parseUri(r.fromUri)!, params: new Map([['tag', r.fromTag]]) });
    const lines = [
      `${r.method} ${r.ruri} SIP/2.0`,
      `Via: ${formatVia({ transport: 'UDP', host: r.viaHost, port: r.viaPort, branch: 'z9hG4bK' + r.branch, params: new Map() })}`,
      `Max-Forwards: ${r.maxFwd}`,
      `From: ${from}`,
      `To: <${r.toUri}>`,
      `Call-ID: ${r.callId}`,
      `CSeq: ${r.seq} ${r.method}`,
      ...r.extra.map(([n, v]) => `X-${n}: ${v}`),
      `Content-Length: ${r.body.length}`,
    ];
    return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'utf8'), Buffer.from(r.body)]);
  });

function view(m: SipMessage): unknown {
  return {
    vias: m.vias,
    from: m.from,
    to: m.to,
    callId: m.callId,
    cseq: m.cseq,
    maxForwards: m.maxForwards,
    body: [...m.body],
    uri: m instanceof SipRequest ? m.uri : undefined,
    method: m instanceof SipRequest ? m.method : undefined,
  };
}

describe('sip message properties', () => {
  it('random bytes never throw and always give a result', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, datagram) => {
        const r = parseMessage(Buffer.from(bytes), { datagram });
        if (r.ok) touchAll(r.msg);
        else expect(r.error).toBeInstanceOf(SipParseError);
      }),
      { numRuns: 400, ...LIMIT },
    );
  });

  it('random SIP-looking text never throws', () => {
    const line = fc.oneof(
      fc.constantFrom('Via: ', 'From: ', 'To: ', 'Call-ID: ', 'CSeq: ', 'Contact: ', 'l: ', 'Max-Forwards: ', ' ', '\t'),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(line, fc.string({ maxLength: 30 })), { maxLength: 12 }), (parts) => {
        const text = 'INVITE sip:a@b SIP/2.0\r\n' + parts.map(([a, b]) => a + b).join('\r\n') + '\r\n\r\n';
        const r = parseMessage(Buffer.from(text), { datagram: true });
        if (r.ok) touchAll(r.msg);
      }),
      { numRuns: 300, ...LIMIT },
    );
  });

  it('generated valid messages parse and roundtrip (unmodified bytes, and modified canonical form)', () => {
    fc.assert(
      fc.property(validRequest, (buf) => {
        const r = parseMessage(buf);
        if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}\n${buf.toString()}`);
        expect(r.msg.serialize().equals(buf)).toBe(true);
        const before = view(r.msg);
        r.msg.setHeader('X-Touched', '1');
        const again = parseMessage(r.msg.serialize());
        if (!again.ok) throw new Error(again.error.message);
        expect(view(again.msg)).toEqual(before);
      }),
      { numRuns: 200, ...LIMIT },
    );
  });

  it('mutated valid messages never throw', () => {
    const mutation = fc.record({ pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), kind: fc.constantFrom('set', 'insert', 'delete') });
    fc.assert(
      fc.property(fc.oneof(validRequest, fc.constantFrom(...SEEDS)), fc.array(mutation, { minLength: 1, maxLength: 8 }), (buf, muts) => {
        let b = Buffer.from(buf);
        for (const m of muts) {
          if (b.length === 0) break;
          const p = m.pos % b.length;
          if (m.kind === 'set') b[p] = m.byte;
          else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, p), Buffer.from([m.byte]), b.subarray(p)]);
          else b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1)]);
        }
        for (const datagram of [true, false]) {
          const r = parseMessage(b, { datagram });
          if (r.ok) touchAll(r.msg);
          else expect(r.error).toBeInstanceOf(SipParseError);
        }
        frameStreamMessage(b);
      }),
      { numRuns: 300, ...LIMIT },
    );
  });

  it('truncated input is an error, not a crash (and a stream prefix is never a whole message)', () => {
    fc.assert(
      fc.property(validRequest, fc.nat(), (buf, cut) => {
        const n = cut % buf.length;
        const prefix = buf.subarray(0, n);
        const r = parseMessage(prefix);
        // Content-Length is always present in generated messages, so any proper prefix is incomplete on a stream.
        expect(r.ok).toBe(false);
        expect(frameStreamMessage(prefix).kind).not.toBe('message');
      }),
      { numRuns: 200, ...LIMIT },
    );
  });

  it('URI, name-addr and Via formatters roundtrip through their parsers', () => {
    fc.assert(
      fc.property(sipUriText, display, token, host, port, (uriText, dn, tag, h, p) => {
        const uri = parseUri(uriText)!;
        expect(uri).toBeDefined();
        expect(parseUri(formatUri(uri))).toEqual(uri);
        const na = { displayName: dn, uri, params: new Map<string, string | null>([['tag', tag]]) };
        if (dn === undefined) delete na.displayName;
        expect(parseNameAddr(formatNameAddr(na))).toEqual(na);
        const via = parseVia(formatVia({ transport: 'TCP', host: h, port: p, branch: 'z9hG4bK' + tag, params: new Map() }));
        expect(via?.[0].host).toBe(h.toLowerCase());
        expect(via?.[0].port).toBe(p);
      }),
      { numRuns: 300, ...LIMIT },
    );
  });

  it('parsers of header values never throw on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        parseUri(s);
        parseNameAddr(s);
        parseVia(s);
      }),
      { numRuns: 500, ...LIMIT },
    );
  });
});
