/**
 * Differential properties of the parser's fast path. The parser validates Via, From, To and the Request-URI with
 * allocation-free scanners and builds the typed values only on first access; these properties check that the
 * scanners give the same verdict as the full parsers (parseVia, parseNameAddr, parseUri) on mutated inputs, and that
 * the branch and tags they report equal the ones the typed values hold. Time-boxed like the other fuzz files.
 */
import fc from 'fast-check';
import { SipParseErrorCode, parseMessage, parseNameAddr, parseUri, parseVia } from '../../src/sip/message';
import type { SipRequest } from '../../src/sip/message';

const LIMIT = { interruptAfterTimeLimit: 2000, markInterruptAsFailure: false };

const VIA_SEEDS = [
  'SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK-524287-1;rport',
  'SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKx;received=198.51.100.1;rport=5060;ttl=16;maddr=224.2.0.1',
  'SIP / 2.0 / UDP host.example.com ; branch = "z9hG4bKq" , SIP/2.0/TLS h2:5;branch=z9hG4bK2',
  'SIP/2.0/UDP a.b.c :  5060;BRANCH=z9hG4bKup;RPort',
  // Boundaries: one edit away from the other verdict.
  'SIP/2.0/UDP h..x;rport=65535',
  'SIP/2.0/UDP h.x;rport=65536;ttl=255',
  'SIP/2.0/UDP h;ttl=256;branch=z9hG4bKa;branch',
  'SIP/2.0/UDP h:65535;received;maddr',
  'SIP/2.0/UDP [::1;branch=z9hG4bKv6',
  'SIP/2.0/UDP 1.2.3.4:99999',
  'SIP/2.0/UDP h;rport="1"',
  'SIP/2.0/UDP h, SIP/2.0/UDP h2;branch=x, ,SIP/2.0/UDP h3',
];
const NA_SEEDS = [
  '"Alice Caller" <sip:+12125550199@carrier.example.net>;tag=as5f2a1b3c',
  '<sip:bob@[::1]:5060;transport=tcp?subject=x&h=y>;tag="q";TAG=last',
  'Bob Smith <sips:bob:pw%41@example.com;lr>;expires=60',
  'sip:carol@example.com;tag=1',
  'tel:+1-212-555-0199;phone-context=example.com',
  '<urn:service:sos>',
  '<sip:a@h..b>;tag=x',
  '"unterminated <sip:a@b>',
  'sip:a@b?x=y',
  '<sip:a@b>;tag',
  '<sip:@b>',
  '<sip:a%4@b>',
  'tel:;x=1',
  'A <tel:>',
];
const URI_SEEDS = [
  'sip:+14155550123@voice.example.com:5060;transport=udp',
  'sips:%61lice:secret@[2001:db8::5]:5061;maddr=10.0.0.1?Subject=hi',
  'tel:+1(212)555-0199;ext=12',
  'soap.beep://h:3002',
  'SIP:UPPER@EXAMPLE.COM;LR',
  'sip:a@b:65536',
  'sip:a@[::1',
  'sip:h;=x;?',
  'sip:a@b?noequals',
  'x:',
  '1sip:a@b',
];
// Characters that matter to the grammars, plus a few that never belong.
const ALPHABET = [' ', '\t', ';', '=', ',', '"', '\\', '<', '>', '[', ']', ':', '@', '?', '&', '%', '/', '.', '-', '_', 'a', 'Z', '0', '9', '4', '\r', '\u00a0', '\u00e9', '\u2028', '*', '!', '~', '(', '+'];

/** A seed with a few random edits (insert, delete, replace). */
function mutated(seeds: string[]): fc.Arbitrary<string> {
  const edit = fc.record({
    op: fc.integer({ min: 0, max: 2 }),
    at: fc.nat(),
    ch: fc.constantFrom(...ALPHABET),
  });
  return fc.tuple(fc.constantFrom(...seeds), fc.array(edit, { maxLength: 4 })).map(([seed, edits]) => {
    let s = seed;
    for (const e of edits) {
      const at = s.length === 0 ? 0 : e.at % (s.length + 1);
      if (e.op === 0) s = s.slice(0, at) + e.ch + s.slice(at);
      else if (e.op === 1) s = s.slice(0, at) + s.slice(at + 1);
      else s = s.slice(0, at) + e.ch + s.slice(at + 1);
    }
    return s;
  });
}

/** A request that is valid except, possibly, for the one header or Request-URI under test. */
function request(over: { via?: string; from?: string; to?: string; uri?: string }): Buffer {
  const lines = [
    `INVITE ${over.uri ?? 'sip:bob@example.com'} SIP/2.0`,
    `Via: ${over.via ?? 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKseed'}`,
    'Max-Forwards: 70',
    `From: ${over.from ?? '<sip:alice@example.com>;tag=f1'}`,
    `To: ${over.to ?? '<sip:bob@example.com>'}`,
    'Call-ID: c1@example.com',
    'CSeq: 1 INVITE',
    'Content-Length: 0',
    '',
    '',
  ];
  // UTF-8 so that non-Latin-1 characters take the decoded-value path of the parser.
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

/**
 * True when the parser sees `s` as the whole header value: no LF (it ends the line), no CR before the line end, no
 * SP/HT at either edge (the parser trims those). Other whitespace at the edges stays, as it does on the wire.
 */
function lineSafe(s: string): boolean {
  return !s.includes('\n') && !s.endsWith('\r') && !/^[ \t]|[ \t]$/.test(s);
}

describe('parser fast-path checks agree with the full parsers', () => {
  it('every seed, unmutated: the same verdicts as the full parsers', () => {
    for (const via of VIA_SEEDS) {
      const r = parseMessage(request({ via }), { datagram: true });
      expect([via, r.ok]).toEqual([via, parseVia(via) !== undefined]);
      if (r.ok) expect(r.msg.branch).toBe(parseVia(via)?.[0].branch);
    }
    for (const na of NA_SEEDS) {
      const r = parseMessage(request({ from: na }), { datagram: true });
      expect([na, r.ok]).toEqual([na, parseNameAddr(na) !== undefined]);
      if (r.ok) expect(r.msg.fromTag).toBe(parseNameAddr(na)?.params.get('tag') ?? undefined);
    }
    for (const uri of URI_SEEDS) {
      const ref = parseUri(uri);
      const r = parseMessage(request({ uri }), { datagram: true });
      expect([uri, r.ok]).toEqual([uri, ref !== undefined && !((ref.scheme === 'sip' || ref.scheme === 'sips') && ref.headers.size > 0)]);
    }
  });

  it('Via: same verdict as parseVia, same top branch', () => {
    fc.assert(
      fc.property(mutated(VIA_SEEDS), (via) => {
        fc.pre(lineSafe(via) && via.length > 0);
        const ref = parseVia(via);
        const r = parseMessage(request({ via }), { datagram: true });
        if (ref === undefined) {
          expect(r.ok).toBe(false);
          if (!r.ok) expect([r.error.code, r.error.header]).toEqual([SipParseErrorCode.BAD_HEADER, 'Via']);
          return;
        }
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.msg.branch).toBe(ref[0].branch);
        expect(r.msg.via).toEqual(ref[0]);
        expect(r.msg.vias).toEqual(ref);
      }),
      { numRuns: 1500, ...LIMIT },
    );
  });

  it('From and To: same verdict as parseNameAddr, same tags', () => {
    fc.assert(
      fc.property(mutated(NA_SEEDS), fc.boolean(), (value, asFrom) => {
        fc.pre(lineSafe(value) && value.length > 0);
        const ref = parseNameAddr(value);
        const r = parseMessage(request(asFrom ? { from: value } : { to: value }), { datagram: true });
        if (ref === undefined) {
          expect(r.ok).toBe(false);
          if (!r.ok) expect([r.error.code, r.error.header]).toEqual([SipParseErrorCode.BAD_HEADER, asFrom ? 'From' : 'To']);
          return;
        }
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        const tag = ref.params.get('tag') ?? undefined;
        if (asFrom) {
          expect(r.msg.fromTag).toBe(tag);
          expect(r.msg.from).toEqual(ref);
        } else {
          expect(r.msg.toTag).toBe(tag);
          expect(r.msg.to).toEqual(ref);
        }
      }),
      { numRuns: 1500, ...LIMIT },
    );
  });

  it('Request-URI: same verdict as parseUri (headers refused), same URI on access', () => {
    fc.assert(
      fc.property(mutated(URI_SEEDS), (uri) => {
        fc.pre(uri.length > 0 && !/[\s\u00a0\u2028]/.test(uri));
        const ref = parseUri(uri);
        const r = parseMessage(request({ uri }), { datagram: true });
        const refused = ref === undefined || ((ref.scheme === 'sip' || ref.scheme === 'sips') && ref.headers.size > 0);
        if (refused) {
          expect(r.ok).toBe(false);
          if (!r.ok) expect(r.error.code).toBe(SipParseErrorCode.BAD_REQUEST_URI);
          return;
        }
        expect(r.ok).toBe(true);
        if (r.ok) expect((r.msg as SipRequest).uri).toEqual(ref);
      }),
      { numRuns: 1500, ...LIMIT },
    );
  });

  it('a message whose checks passed serializes unchanged and reads the same after a header edit', () => {
    fc.assert(
      fc.property(mutated(VIA_SEEDS), mutated(NA_SEEDS), (via, from) => {
        fc.pre(lineSafe(via) && lineSafe(from) && via.length > 0 && from.length > 0);
        const buf = request({ via, from });
        const r = parseMessage(buf, { datagram: true });
        if (!r.ok) return;
        expect(r.msg.serialize().equals(buf)).toBe(true);
        const branch = r.msg.branch;
        const fromTag = r.msg.fromTag;
        r.msg.appendHeader('X-Edit', '1');
        const again = parseMessage(r.msg.serialize(), { datagram: true });
        expect(again.ok).toBe(true);
        if (!again.ok) return;
        expect(again.msg.branch).toBe(branch);
        expect(again.msg.fromTag).toBe(fromTag);
      }),
      { numRuns: 500, ...LIMIT },
    );
  });
});
