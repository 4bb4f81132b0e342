import { formatVia, parseVia } from '../../../../src/sip/message';
import type { Via } from '../../../../src/sip/message';

describe('parseVia', () => {
  it('reads sent-protocol, sent-by and the typed params', () => {
    const [v] = parseVia('SIP/2.0/udp PC33.example.com:5066;branch=z9hG4bK776;received=192.0.2.1;rport=5061;maddr=224.2.0.1;ttl=16;x=y')!;
    expect(v).toMatchObject({ transport: 'UDP', host: 'pc33.example.com', port: 5066, branch: 'z9hG4bK776', received: '192.0.2.1', rport: 5061, maddr: '224.2.0.1', ttl: 16 });
    expect(v.params.get('x')).toBe('y');
  });

  it('rport without value is null (RFC 3581)', () => {
    expect(parseVia('SIP/2.0/UDP h;rport;branch=z9hG4bK1')![0].rport).toBeNull();
    expect(parseVia('SIP/2.0/UDP h;branch=z9hG4bK1')![0].rport).toBeUndefined();
  });

  it('allows LWS around slashes, colon, semicolons and equals (RFC 4475 wsinv)', () => {
    const vias = parseVia('SIP  / 2.0  / TCP     spindle.example.com :  5070 ;\r\n  branch  =   z9hG4bK9ikj8  ,  SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239'.replace(/\r\n/g, ''))!;
    expect(vias.map((v) => [v.transport, v.host, v.port, v.branch])).toEqual([
      ['TCP', 'spindle.example.com', 5070, 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', undefined, 'z9hG4bK30239'],
    ]);
  });

  it('IPv6 sent-by and received with or without brackets (RFC 5118 §4.5)', () => {
    const [a] = parseVia('SIP/2.0/UDP [2001:db8::9:1]:5060;received=2001:db8::9:255')!;
    expect([a.host, a.port, a.received]).toEqual(['[2001:db8::9:1]', 5060, '2001:db8::9:255']);
    expect(parseVia('SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255]')![0].received).toBe('[2001:db8::9:255]');
  });

  it.each([
    ['empty', ''],
    ['no sent-by', 'SIP/2.0/UDP'],
    ['missing transport', 'SIP/2.0 host'],
    ['no LWS after protocol', 'SIP/2.0/UDPhost'],
    ['extraneous separators (RFC 4475 badinv01)', 'SIP/2.0/UDP 192.0.2.15;;,;,,'],
    ['bad port', 'SIP/2.0/UDP h:70000'],
    ['bad rport', 'SIP/2.0/UDP h;rport=x'],
    ['ttl above 255', 'SIP/2.0/UDP h;ttl=256'],
    ['branch without value', 'SIP/2.0/UDP h;branch'],
    ['bad host', 'SIP/2.0/UDP h_!x'],
    ['unterminated IPv6', 'SIP/2.0/UDP [::1'],
    ['trailing comma', 'SIP/2.0/UDP h,'],
  ])('rejects %s', (_n, text) => {
    expect(parseVia(text)).toBeUndefined();
  });
});

describe('formatVia', () => {
  it('round-trips', () => {
    for (const text of ['SIP/2.0/UDP h.example.com:5060;branch=z9hG4bK1;rport', 'SIP/2.0/TLS [::1];received=192.0.2.1;branch=z9hG4bKx;ttl=3;maddr=m.example.com;x']) {
      const [v] = parseVia(text)!;
      expect(formatVia(v)).toBe(text);
      expect(parseVia(formatVia(v))![0]).toEqual(v);
    }
  });

  it('typed fields override params; new typed fields go last', () => {
    const [v] = parseVia('SIP/2.0/UDP h;branch=z9hG4bK1;rport')!;
    const copy: Via = { ...v, rport: 5062, received: '192.0.2.9' };
    expect(formatVia(copy)).toBe('SIP/2.0/UDP h;branch=z9hG4bK1;rport=5062;received=192.0.2.9');
  });

  it('writes a Via built from scratch', () => {
    expect(formatVia({ transport: 'TCP', host: '192.0.2.1', port: 5070, branch: 'z9hG4bKabc', rport: null, params: new Map() })).toBe(
      'SIP/2.0/TCP 192.0.2.1:5070;branch=z9hG4bKabc;rport',
    );
  });
});
