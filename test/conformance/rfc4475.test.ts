/**
 * RFC 4475 (SIP torture tests) and RFC 5118 (IPv6 torture tests) at the message layer.
 *
 * Every fixture gets a verdict: either the parser accepts it (and the fields the RFC says must be understood are
 * checked), or it refuses it with a specific code (and, for requests whose Via is readable, the 400/505 can be
 * built). `layer` records who decides the final outcome when the parser accepts a message that the RFC says must
 * still be refused (416, 420, 483, 415, 401, ...): those rules live above the message layer and are only
 * exercised here through the helpers this layer gives them.
 *
 * Messages are parsed as UDP datagrams (RFC 3261 §18.3), the RFC's own framing assumption for most of them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  SipParseErrorCode,
  SipHeaderError,
  SipRequest,
  SipResponse,
  buildErrorResponse,
  formatUri,
  isSupportedUriScheme,
  parseMessage,
  unsupportedRequire,
} from '../../src/sip/message';
import type { SipMessage, SipParseErrorCodeValue } from '../../src/sip/message';

const ROOT = join(__dirname, '..', 'fixtures', 'sip', 'torture');

type Layer = 'parser' | 'transaction' | 'ua' | 'proxy' | 'registrar';

interface Accepted {
  section: string;
  accept: true;
  /** Who still has to refuse or special-case it, when the RFC says so. */
  layer?: Layer;
  check: (msg: SipMessage) => void;
}

interface Refused {
  section: string;
  accept: false;
  code: SipParseErrorCodeValue;
  header?: string;
  /** Whether enough was readable to answer (400/505) rather than drop. */
  answerable: boolean;
  status?: number;
}

type Verdict = Accepted | Refused;

const req = (m: SipMessage): SipRequest => {
  if (!(m instanceof SipRequest)) throw new Error('expected a request');
  return m;
};
const res = (m: SipMessage): SipResponse => {
  if (!(m instanceof SipResponse)) throw new Error('expected a response');
  return m;
};

const VERDICTS: Record<string, Verdict> = {
  // ---- §3.1.1 valid messages ----
  'valid/wsinv.sip': {
    section: '3.1.1.1',
    accept: true,
    check: (m) => {
      const r = req(m);
      expect(r.method).toBe('INVITE');
      expect(r.uri.params.has('unknownparam')).toBe(true);
      expect(r.to.uri.user).toBe('vivekg');
      expect(r.toTag).toBe('1918181833n');
      // "J Rosenberg \\\"" -> J Rosenberg \"
      expect(r.from.displayName).toBe('J Rosenberg \\"');
      expect(r.fromTag).toBe('98asjd8');
      expect(r.maxForwards).toBe(68);
      expect(r.cseq).toEqual({ seq: 9, method: 'INVITE' });
      expect(r.callId).toBe('wsinv.ndaksdj@192.0.2.1');
      expect(r.vias.map((v) => [v.transport, v.host, v.branch])).toEqual([
        ['UDP', '192.0.2.2', '390skdjuw'],
        ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
        ['UDP', '192.168.255.111', 'z9hG4bK30239'],
      ]);
      expect(r.getHeader('Subject')).toBe('');
      expect(r.getHeader('newfangledheader')).toBe('newfangled value continued newfangled value');
      expect(r.getHeader('UnknownHeaderWithUnusualValue')).toBe(';;,,;;,;');
      expect(r.routes).toHaveLength(1);
      expect(r.routes[0].uri.params.get('lr')).toBeNull();
      expect(r.routes[0].uri.params.get('unknownwith')).toBe('value');
      const c = r.contacts;
      expect(c).toHaveLength(1);
      expect(c[0].displayName).toBe('Quoted string ""');
      expect(c[0].params.get('newparam')).toBe('newvalue');
      expect(c[0].params.get('secondparam')).toBeNull();
      expect(c[0].params.get('q')).toBe('0.33');
      expect(r.body.length).toBe(150);
    },
  },
  'valid/intmeth.sip': {
    section: '3.1.1.2',
    accept: true,
    check: (m) => {
      const r = req(m);
      expect(r.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
      expect(r.cseq.method).toBe(r.method);
      expect(r.uri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
      expect(r.uri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
      expect(r.uri.host).toBe('example.com');
      expect(r.to.displayName).toBe('BEL:\x07 NUL:\x00 DEL:\x7f');
      expect(r.from.displayName).toBe("token1~` token2'+_ token3*%!.-");
      expect(r.fromTag).toBe("_token~1'+`*%!-.");
      expect(r.from.params.get("fromparam''~+*_!.-%")).toBe('"работающий"');
      expect(r.callId).toBe('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
      expect(r.branch).toBe("z9hG4bK-.!%66*_+`'~");
      expect(r.maxForwards).toBe(255);
      expect(r.getHeader("extensionHeader-!.%*+_`'~")).toBe('\uFEFF大停電');
    },
  },
  'valid/esc01.sip': {
    section: '3.1.1.3',
    accept: true,
    check: (m) => {
      const r = req(m);
      expect(r.uri.user).toBe('sips:user@example.com');
      expect(r.uri.host).toBe('example.net');
      expect(r.to.uri.user).toBe('user');
      expect(r.from.uri.user).toBe('I have spaces');
      const c = r.contacts[0].uri;
      expect(c.user).toBe('caller');
      expect(c.params.get('lr')).toBeNull();
      // RFC 3986 §2.4: unescaping happens once: %25%34%31 -> "%41", NOT "A".
      expect(c.params.get('name')).toBe('value%41');
      expect(r.contentType).toBe('application/sdp');
    },
  },
  'valid/escnull.sip': {
    section: '3.1.1.4',
    accept: true,
    check: (m) => {
      const r = req(m);
      expect(r.to.uri.user).toBe('null-\u0000-null');
      expect(r.contacts.map((c) => c.uri.user)).toEqual(['\u0000', '\u0000\u0000']);
    },
  },
  'valid/esc02.sip': {
    section: '3.1.1.5',
    accept: true,
    check: (m) => {
      const r = req(m);
      // An escaped method is a different (unknown) method, not REGISTER.
      expect(r.method).toBe('RE%47IST%45R');
      expect(r.to.displayName).toBe('%Z%45');
      expect(r.branch).toBe('z9hG4bK209%fzsnel234');
      // "C%6Fntact" is an unknown header, not Contact.
      expect(r.contacts.map((c) => c.uri.host)).toEqual(['host1.example.com', 'host3.example.com']);
      expect(r.getHeader('C%6Fntact')).toBe('<sip:alias2@host2.example.com>');
    },
  },
  'valid/lwsdisp.sip': {
    section: '3.1.1.6',
    accept: true,
    check: (m) => {
      expect(m.from.displayName).toBe('caller');
      expect(m.from.uri.user).toBe('caller');
      expect(m.fromTag).toBe('323');
    },
  },
  'valid/longreq.sip': {
    section: '3.1.1.7',
    accept: true,
    check: (m) => {
      const r = req(m);
      expect(r.vias).toHaveLength(34);
      expect(r.vias[0].host).toBe('sip33.example.com');
      expect(r.vias[33].received).toBe('192.0.2.5');
      expect(r.to.uri.port).toBe(6000);
      expect(r.to.displayName).toMatch(/^I have a user name of (extreme){10} proportion$/);
      expect(r.fromTag?.length).toBeGreaterThan(100);
      expect(r.body.length).toBe(150);
    },
  },
  'valid/dblreq.sip': {
    section: '3.1.1.8',
    accept: true,
    check: (m) => {
      // Over UDP, only the REGISTER is processed: the INVITE past Content-Length is dropped (RFC 3261 §18.3).
      const r = req(m);
      expect(r.method).toBe('REGISTER');
      expect(r.body.length).toBe(0);
      expect(r.serialize().toString('latin1')).not.toContain('INVITE');
    },
  },
  'valid/semiuri.sip': {
    section: '3.1.1.9',
    accept: true,
    check: (m) => {
      const r = req(m);
      expect(r.uri.user).toBe('user;par=u@example.net');
      expect(r.uri.host).toBe('example.com');
      expect(r.uri.params.size).toBe(0);
      expect(r.getHeaders('Accept')).toEqual([
        'application/sdp',
        'application/pkcs7-mime',
        'multipart/mixed',
        'multipart/signed',
        'message/sip',
        'message/sipfrag',
      ]);
    },
  },
  'valid/transports.sip': {
    section: '3.1.1.10',
    accept: true,
    check: (m) => {
      expect(m.vias.map((v) => v.transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
      expect(m.callId).toBe('transports.kijh4akdnaqjkwendsasfdj');
    },
  },
  'valid/mpart01.sip': {
    section: '3.1.1.11',
    accept: true,
    check: (m) => {
      expect(m.body.length).toBe(553);
      expect(m.contentType).toBe('multipart/mixed;boundary=7a9cbec02ceef655');
      expect(m.via.rport).toBeNull();
    },
  },
  'valid/unreason.sip': {
    section: '3.1.1.12',
    accept: true,
    check: (m) => {
      const r = res(m);
      expect(r.status).toBe(200);
      expect(r.reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
    },
  },
  'valid/noreason.sip': {
    section: '3.1.1.13',
    accept: true,
    check: (m) => {
      const r = res(m);
      expect(r.status).toBe(100);
      expect(r.reason).toBe('');
    },
  },

  // ---- §3.1.2 invalid messages ----
  'invalid/badinv01.sip': { section: '3.1.2.1', accept: false, code: SipParseErrorCode.BAD_HEADER, header: 'Via', answerable: false },
  'invalid/clerr.sip': { section: '3.1.2.2', accept: false, code: SipParseErrorCode.CONTENT_LENGTH, header: 'Content-Length', answerable: true },
  'invalid/ncl.sip': { section: '3.1.2.3', accept: false, code: SipParseErrorCode.CONTENT_LENGTH, header: 'Content-Length', answerable: true },
  'invalid/scalar02.sip': { section: '3.1.2.4', accept: false, code: SipParseErrorCode.BAD_HEADER, header: 'CSeq', answerable: true },
  // A response: nothing to answer, it is dropped.
  'invalid/scalarlg.sip': { section: '3.1.2.5', accept: false, code: SipParseErrorCode.BAD_HEADER, header: 'CSeq', answerable: false },
  'invalid/quotbal.sip': { section: '3.1.2.6', accept: false, code: SipParseErrorCode.BAD_HEADER, header: 'To', answerable: true },
  'invalid/ltgtruri.sip': { section: '3.1.2.7', accept: false, code: SipParseErrorCode.BAD_REQUEST_URI, answerable: true },
  'invalid/lwsruri.sip': { section: '3.1.2.8', accept: false, code: SipParseErrorCode.BAD_START_LINE, answerable: true },
  'invalid/lwsstart.sip': { section: '3.1.2.9', accept: false, code: SipParseErrorCode.BAD_START_LINE, answerable: true },
  'invalid/trws.sip': { section: '3.1.2.10', accept: false, code: SipParseErrorCode.BAD_START_LINE, answerable: true },
  'invalid/escruri.sip': { section: '3.1.2.11', accept: false, code: SipParseErrorCode.BAD_REQUEST_URI, answerable: true },
  'invalid/baddate.sip': {
    section: '3.1.2.12',
    accept: true,
    // Date is not essential: it stays raw; the UA may answer 400 if it ever needs the date.
    layer: 'ua',
    check: (m) => {
      expect(m.getHeader('Date')).toBe('Fri, 01 Jan 2010 16:00:00 EST');
    },
  },
  'invalid/regbadct.sip': {
    section: '3.1.2.13',
    accept: true,
    // Contact is not essential to the parser; the registrar reads it and answers 400 on SipHeaderError.
    layer: 'registrar',
    check: (m) => {
      expect(() => m.contacts).toThrow(SipHeaderError);
    },
  },
  'invalid/badaspec.sip': { section: '3.1.2.14', accept: false, code: SipParseErrorCode.BAD_HEADER, header: 'To', answerable: true },
  // The archive's file lacks the final empty line, so the bytes are truncated; the display-name rule itself is
  // asserted in the extra test below.
  'invalid/baddn.sip': { section: '3.1.2.15', accept: false, code: SipParseErrorCode.INCOMPLETE, answerable: false },
  'invalid/badvers.sip': { section: '3.1.2.16', accept: false, code: SipParseErrorCode.BAD_VERSION, answerable: true, status: 505 },
  'invalid/mismatch01.sip': { section: '3.1.2.17', accept: false, code: SipParseErrorCode.CSEQ_MISMATCH, header: 'CSeq', answerable: true },
  'invalid/mismatch02.sip': { section: '3.1.2.18', accept: false, code: SipParseErrorCode.CSEQ_MISMATCH, header: 'CSeq', answerable: true },
  'invalid/bigcode.sip': { section: '3.1.2.19', accept: false, code: SipParseErrorCode.BAD_START_LINE, answerable: false },

  // ---- §3.2 transaction layer ----
  'transaction/badbranch.sip': {
    section: '3.2.1',
    accept: true,
    // A bare magic cookie is a valid token; the transaction layer must not treat it as an RFC 3261 branch id.
    layer: 'transaction',
    check: (m) => {
      expect(m.branch).toBe('z9hG4bK');
    },
  },

  // ---- §3.3 application layer ----
  'application/insuf.sip': { section: '3.3.1', accept: false, code: SipParseErrorCode.MISSING_HEADER, header: 'From', answerable: true },
  'application/unkscm.sip': {
    section: '3.3.2',
    accept: true,
    layer: 'ua', // 416
    check: (m) => {
      const r = req(m);
      expect(r.uri.scheme).toBe('nobodyknowsthisscheme');
      expect(r.uri.raw).toBe('nobodyKnowsThisScheme:totallyopaquecontent');
      expect(isSupportedUriScheme(r.uri)).toBe(false);
    },
  },
  'application/novelsc.sip': {
    section: '3.3.3',
    accept: true,
    layer: 'ua', // 416
    check: (m) => {
      const r = req(m);
      expect(r.uri.scheme).toBe('soap.beep');
      expect(isSupportedUriScheme(r.uri)).toBe(false);
    },
  },
  'application/unksm2.sip': {
    section: '3.3.4',
    accept: true,
    layer: 'registrar',
    check: (m) => {
      expect(m.to.uri.scheme).toBe('isbn');
      expect(m.from.uri.raw).toBe('http://www.example.com');
      expect(m.contacts[0].uri.raw).toBe('name:John_Smith');
    },
  },
  'application/bext01.sip': {
    section: '3.3.5',
    accept: true,
    layer: 'ua', // 420 with Unsupported
    check: (m) => {
      expect(unsupportedRequire(req(m), new Set(['100rel', 'timer']))).toEqual(['nothingSupportsThis', 'nothingSupportsThisEither']);
      expect(m.getHeaders('Proxy-Require')).toEqual(['noProxiesSupportThis', 'norDoAnyProxiesSupportThis']);
    },
  },
  'application/invut.sip': {
    section: '3.3.6',
    accept: true,
    layer: 'ua', // 415
    check: (m) => {
      expect(m.contentType).toBe('application/unknownformat');
      expect(m.body.toString()).toContain('<pcmu port="443"/>');
    },
  },
  'application/regaut01.sip': {
    section: '3.3.7',
    accept: true,
    layer: 'registrar', // 401
    check: (m) => {
      expect(m.getHeader('Authorization')).toBe('NoOneKnowsThisScheme opaque-data=here');
    },
  },
  'application/multi01.sip': { section: '3.3.8', accept: false, code: SipParseErrorCode.DUPLICATE_HEADER, header: 'CSeq', answerable: true },
  'application/mcl01.sip': { section: '3.3.9', accept: false, code: SipParseErrorCode.CONTENT_LENGTH, header: 'Content-Length', answerable: true },
  'application/bcast.sip': {
    section: '3.3.10',
    accept: true,
    layer: 'transaction', // a response whose second Via is a broadcast address: matched or dropped above
    check: (m) => {
      expect(res(m).status).toBe(200);
      expect(m.vias[1].host).toBe('255.255.255.255');
    },
  },
  'application/zeromf.sip': {
    section: '3.3.11',
    accept: true,
    layer: 'proxy', // 483 when it would be forwarded
    check: (m) => {
      expect(m.maxForwards).toBe(0);
    },
  },
  'application/cparam01.sip': {
    section: '3.3.12',
    accept: true,
    layer: 'registrar',
    check: (m) => {
      // Unbracketed: ';unknownparam' is a Contact header parameter, not a URI parameter.
      expect(m.contacts[0].params.has('unknownparam')).toBe(true);
      expect(m.contacts[0].uri.params.size).toBe(0);
    },
  },
  'application/cparam02.sip': {
    section: '3.3.13',
    accept: true,
    layer: 'registrar',
    check: (m) => {
      expect(m.contacts[0].uri.params.has('unknownparam')).toBe(true);
      expect(m.contacts[0].params.size).toBe(0);
    },
  },
  'application/regescrt.sip': {
    section: '3.3.14',
    accept: true,
    layer: 'registrar',
    check: (m) => {
      expect(m.contacts[0].uri.headers.get('Route')).toBe('<sip:sip.example.com>');
    },
  },
  'application/sdp01.sip': {
    section: '3.3.15',
    accept: true,
    layer: 'ua', // 415 (Accept lists no type it could answer with)
    check: (m) => {
      expect(m.getHeader('Accept')).toBe('text/nobodyKnowsThis');
    },
  },

  // ---- §3.4 backward compatibility ----
  'compat/inv2543.sip': {
    section: '3.4.1',
    accept: true,
    layer: 'ua',
    check: (m) => {
      expect(m.branch).toBeUndefined();
      expect(m.fromTag).toBeUndefined();
      expect(m.maxForwards).toBeUndefined();
      // No Content-Length on a datagram: the body is the rest of the datagram.
      expect(m.body.toString('latin1')).toContain('m=audio 49217 RTP/AVP 0');
      expect(m.recordRoutes[0].uri.params.get('maddr')).toBe('ss1.example.com');
    },
  },

  // ---- archive file not described by any section: no SIP-Version on the Request-Line ----
  'extra/test.sip': { section: '-', accept: false, code: SipParseErrorCode.BAD_START_LINE, answerable: false },

  // ---- RFC 5118 (CRLF wire versions) ----
  'ipv6/ipv6-good.sip': {
    section: '5118 4.1',
    accept: true,
    check: (m) => {
      expect(req(m).uri.host).toBe('[2001:db8::10]');
      expect(m.via.host).toBe('[2001:db8::9:1]');
      expect(m.contacts[0].uri.host).toBe('[2001:db8::1]');
    },
  },
  'ipv6/ipv6-bad.sip': { section: '5118 4.2', accept: false, code: SipParseErrorCode.BAD_REQUEST_URI, answerable: true },
  'ipv6/port-ambiguous.sip': {
    section: '5118 4.3',
    accept: true,
    check: (m) => {
      expect(req(m).uri.host).toBe('[2001:db8::10:5070]');
      expect(req(m).uri.port).toBeUndefined();
    },
  },
  'ipv6/port-unambiguous.sip': {
    section: '5118 4.4',
    accept: true,
    check: (m) => {
      expect(req(m).uri.host).toBe('[2001:db8::10]');
      expect(req(m).uri.port).toBe(5070);
    },
  },
  'ipv6/via-received-param-with-delim.sip': {
    section: '5118 4.5',
    accept: true,
    check: (m) => {
      expect(m.via.received).toBe('[2001:db8::9:255]');
    },
  },
  'ipv6/via-received-param-no-delim.sip': {
    section: '5118 4.5',
    accept: true,
    check: (m) => {
      expect(m.via.received).toBe('2001:db8::9:255');
      expect(m.branch).toBe('z9hG4bKas3');
    },
  },
  'ipv6/ipv6-in-sdp.sip': {
    section: '5118 4.6',
    accept: true,
    check: (m) => {
      expect(m.body.toString()).toContain('c=IN IP6 2001:db8::20');
    },
  },
  'ipv6/mult-ip-in-header.sip': {
    section: '5118 4.7',
    accept: true,
    check: (m) => {
      expect(m.vias.map((v) => [v.host, v.port])).toEqual([
        ['[2001:db8::9:1]', 6050],
        ['192.0.2.1', undefined],
        ['[2001:db8::9:255]', undefined],
      ]);
      expect(m.vias[2].received).toBe('192.0.2.200');
    },
  },
  'ipv6/mult-ip-in-sdp.sip': {
    section: '5118 4.8',
    accept: true,
    check: (m) => {
      expect(m.body.length).toBe(189);
    },
  },
  'ipv6/ipv4-mapped-ipv6.sip': {
    section: '5118 4.9',
    accept: true,
    check: (m) => {
      expect(m.via.host).toBe('[::ffff:192.0.2.10]');
      expect(m.via.port).toBe(19823);
      expect(m.contacts[0].uri.host).toBe('[::ffff:192.0.2.2]');
    },
  },
  'ipv6/ipv6-bug-abnf-3-colons.sip': { section: '5118 4.10', accept: false, code: SipParseErrorCode.BAD_REQUEST_URI, answerable: true },
  'ipv6/ipv6-correct-abnf-2-colons.sip': {
    section: '5118 4.10',
    accept: true,
    check: (m) => {
      expect(req(m).uri.host).toBe('[2001:db8::192.0.2.1]');
    },
  },

  // ---- RFC 5118 as published: bare LF line ends (tolerated), two wrong Content-Lengths, two unterminated ----
  'ipv6-published/ipv6-good.sip': { section: '5118 4.1', accept: true, check: (m) => expect(req(m).uri.host).toBe('[2001:db8::10]') },
  'ipv6-published/ipv6-bad.sip': { section: '5118 4.2', accept: false, code: SipParseErrorCode.BAD_REQUEST_URI, answerable: true },
  'ipv6-published/port-ambiguous.sip': { section: '5118 4.3', accept: true, check: (m) => expect(req(m).uri.port).toBeUndefined() },
  'ipv6-published/port-unambiguous.sip': { section: '5118 4.4', accept: true, check: (m) => expect(req(m).uri.port).toBe(5070) },
  'ipv6-published/via-received-param-with-delim.sip': { section: '5118 4.5', accept: true, check: (m) => expect(m.via.received).toBe('[2001:db8::9:255]') },
  'ipv6-published/via-received-param-no-delim.sip': { section: '5118 4.5', accept: true, check: (m) => expect(m.via.received).toBe('2001:db8::9:255') },
  'ipv6-published/ipv6-in-sdp.sip': { section: '5118 4.6', accept: false, code: SipParseErrorCode.CONTENT_LENGTH, header: 'Content-Length', answerable: true },
  'ipv6-published/mult-ip-in-header.sip': { section: '5118 4.7', accept: true, check: (m) => expect(m.vias).toHaveLength(3) },
  'ipv6-published/mult-ip-in-sdp.sip': { section: '5118 4.8', accept: false, code: SipParseErrorCode.CONTENT_LENGTH, header: 'Content-Length', answerable: true },
  'ipv6-published/ipv4-mapped-ipv6.sip': { section: '5118 4.9', accept: true, check: (m) => expect(m.via.port).toBe(19823) },
  'ipv6-published/ipv6-bug-abnf-3-colons.sip': { section: '5118 4.10', accept: false, code: SipParseErrorCode.INCOMPLETE, answerable: false },
  'ipv6-published/ipv6-correct-abnf-2-colons.sip': { section: '5118 4.10', accept: false, code: SipParseErrorCode.INCOMPLETE, answerable: false },
};

function fixtureFiles(): string[] {
  const out: string[] = [];
  for (const dir of readdirSync(ROOT)) {
    for (const f of readdirSync(join(ROOT, dir))) if (f.endsWith('.sip')) out.push(`${dir}/${f}`);
  }
  return out.sort();
}

describe('RFC 4475 / RFC 5118 torture messages', () => {
  it('gives every fixture a verdict and every verdict a fixture', () => {
    expect(fixtureFiles()).toEqual(Object.keys(VERDICTS).sort());
  });

  for (const [file, verdict] of Object.entries(VERDICTS)) {
    const layer = verdict.accept ? (verdict.layer ?? 'parser') : 'parser';
    const title = verdict.accept
      ? `§${verdict.section} ${file}: parser accepts (final word: ${layer})`
      : `§${verdict.section} ${file}: parser refuses with ${verdict.code}`;
    it(title, () => {
      const bytes = readFileSync(join(ROOT, file));
      const r = parseMessage(bytes, { datagram: true });
      if (verdict.accept) {
        if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
        verdict.check(r.msg);
        // Unmodified messages serialize to their exact bytes (dblreq: only the first message).
        const out = r.msg.serialize();
        expect(bytes.subarray(0, out.length).equals(out)).toBe(true);
      } else {
        expect(r.ok).toBe(false);
        if (r.ok) return;
        expect(r.error.code).toBe(verdict.code);
        if (verdict.header !== undefined) expect(r.error.header).toBe(verdict.header);
        expect(r.error.request !== undefined).toBe(verdict.answerable);
        const answer = buildErrorResponse(r.error);
        if (verdict.answerable) {
          expect(answer).toBeDefined();
          expect(answer!.status).toBe(verdict.status ?? 400);
          // The answer echoes the request's Vias, Call-ID and CSeq verbatim (RFC 3261 §8.2.6.2), even the
          // malformed one, so the client can match it; the reason phrase names the fault.
          const text = answer!.serialize().toString('utf8');
          expect(text.startsWith(`SIP/2.0 ${answer!.status} ${r.error.reason}\r\n`)).toBe(true);
          expect(answer!.getHeaders('Via')).toEqual(r.error.request!.getHeaders('Via'));
          expect(answer!.getHeader('Call-ID')).toBe(r.error.request!.getHeader('Call-ID'));
          expect(answer!.getHeader('CSeq')).toBe(r.error.request!.getHeader('CSeq'));
        } else {
          expect(answer).toBeUndefined();
        }
      }
    });
  }

  it('§3.1.2.15 baddn: a display name with non-token characters and no quotes is a malformed From', () => {
    const bytes = Buffer.concat([readFileSync(join(ROOT, 'invalid/baddn.sip')), Buffer.from('\r\n')]);
    const r = parseMessage(bytes, { datagram: true });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(SipParseErrorCode.BAD_HEADER);
    expect(r.error.header).toBe('From');
    expect(buildErrorResponse(r.error)?.reason).toBe('Bad Request (Malformed From)');
  });

  it('§3.1.1.8 dblreq over a stream: the first message is framed by its Content-Length', () => {
    const r = parseMessage(readFileSync(join(ROOT, 'valid/dblreq.sip')));
    expect(r.ok).toBe(true);
    if (r.ok) expect(req(r.msg).method).toBe('REGISTER');
  });

  it('§3.1.1.3 esc01: formatting the escaped Request-URI escapes again what must be', () => {
    const r = parseMessage(readFileSync(join(ROOT, 'valid/esc01.sip')), { datagram: true });
    if (!r.ok) throw new Error(r.error.message);
    expect(formatUri(req(r.msg).uri)).toBe('sip:sips%3Auser%40example.com@example.net');
  });
});
