import { encodeStunBindingResponse, isStunBindingRequest, isStunMessage } from '../../../../src/sip/transport';

function bindingRequest(): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16BE(0x0001, 0);
  b.writeUInt16BE(0, 2);
  b.writeUInt32BE(0x2112a442, 4);
  for (let i = 8; i < 20; i++) b[i] = i * 7;
  return b;
}

describe('STUN binding (RFC 5389, RFC 5626 §4.4.2)', () => {
  it('recognises a binding request and nothing SIP-like', () => {
    expect(isStunBindingRequest(bindingRequest())).toBe(true);
    expect(isStunMessage(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\n\r\n'))).toBe(false);
    const badCookie = bindingRequest();
    badCookie.writeUInt32BE(1, 4);
    expect(isStunMessage(badCookie)).toBe(false);
    const badLength = bindingRequest();
    badLength.writeUInt16BE(4, 2);
    expect(isStunMessage(badLength)).toBe(false);
  });

  it('answers with the XOR-mapped IPv4 address and port', () => {
    const req = bindingRequest();
    const res = encodeStunBindingResponse(req, '192.0.2.33', 40123)!;
    expect(res.readUInt16BE(0)).toBe(0x0101);
    expect(res.readUInt16BE(2)).toBe(12);
    expect(res.readUInt32BE(4)).toBe(0x2112a442);
    expect(res.subarray(8, 20)).toEqual(req.subarray(8, 20));
    expect(res.readUInt16BE(20)).toBe(0x0020);
    expect(res.readUInt16BE(22)).toBe(8);
    expect(res[25]).toBe(0x01);
    expect(res.readUInt16BE(26) ^ 0x2112).toBe(40123);
    const ip = [0, 1, 2, 3].map((i) => res[28 + i] ^ res[4 + i]);
    expect(ip.join('.')).toBe('192.0.2.33');
    expect(isStunMessage(res)).toBe(true);
  });

  it('answers with the XOR-mapped IPv6 address', () => {
    const req = bindingRequest();
    const res = encodeStunBindingResponse(req, '2001:db8::1:2', 5060)!;
    expect(res.readUInt16BE(22)).toBe(20);
    expect(res[25]).toBe(0x02);
    const bytes = [...Array(16).keys()].map((i) => res[28 + i] ^ res[4 + i]);
    expect(Buffer.from(bytes).toString('hex')).toBe('20010db8000000000000000000010002');
  });

  it('refuses to encode a host name', () => {
    expect(encodeStunBindingResponse(bindingRequest(), 'example.com', 1)).toBeNull();
  });
});
