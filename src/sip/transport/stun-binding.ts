/**
 * The STUN binding responder RFC 5626 §4.4.2 asks of a SIP server on UDP flows: clients keep NAT bindings
 * alive and learn their reflexive address by sending STUN Binding requests (RFC 5389) to the SIP port.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0|     STUN Message Type     |         Message Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  Magic Cookie = 0x2112A442                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Transaction ID (96 bits)                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

export const STUN_HEADER_SIZE = 20;
export const STUN_MAGIC_COOKIE = 0x2112a442;
const TYPE_OFFSET = 0;
const LENGTH_OFFSET = 2;
const COOKIE_OFFSET = 4;
const TXID_OFFSET = 8;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS_RESPONSE = 0x0101;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;

/**
 * True when the datagram is a STUN message: the two top bits of the type are zero (a SIP message starts
 * with a letter, RFC 7983 §7 demultiplexing), the magic cookie is present and the length field matches.
 */
export function isStunMessage(buf: Buffer): boolean {
  return (
    buf.length >= STUN_HEADER_SIZE &&
    (buf[0] & 0xc0) === 0 &&
    buf.readUInt32BE(COOKIE_OFFSET) === STUN_MAGIC_COOKIE &&
    buf.readUInt16BE(LENGTH_OFFSET) + STUN_HEADER_SIZE === buf.length
  );
}

/** True for a STUN Binding request (RFC 5389 §6: method 0x001, class request). */
export function isStunBindingRequest(buf: Buffer): boolean {
  return isStunMessage(buf) && buf.readUInt16BE(TYPE_OFFSET) === BINDING_REQUEST;
}

/**
 * Binding success response carrying XOR-MAPPED-ADDRESS (RFC 5389 §15.2) = the address and port the request
 * came from. Returns null when `address` is not an IP literal.
 */
export function encodeStunBindingResponse(request: Buffer, address: string, port: number): Buffer | null {
  const ip = parseIp(address);
  if (ip === null) return null;
  const valueLen = 4 + ip.length;
  const out = Buffer.allocUnsafe(STUN_HEADER_SIZE + 4 + valueLen);
  out.writeUInt16BE(BINDING_SUCCESS_RESPONSE, TYPE_OFFSET);
  out.writeUInt16BE(4 + valueLen, LENGTH_OFFSET);
  out.writeUInt32BE(STUN_MAGIC_COOKIE, COOKIE_OFFSET);
  request.copy(out, TXID_OFFSET, TXID_OFFSET, STUN_HEADER_SIZE);
  let o = STUN_HEADER_SIZE;
  out.writeUInt16BE(ATTR_XOR_MAPPED_ADDRESS, o);
  out.writeUInt16BE(valueLen, o + 2);
  out[o + 4] = 0;
  out[o + 5] = ip.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  out.writeUInt16BE((port ^ (STUN_MAGIC_COOKIE >>> 16)) & 0xffff, o + 6);
  o += 8;
  // X-Address: XOR with the magic cookie (IPv4) or the cookie followed by the transaction ID (IPv6).
  for (let i = 0; i < ip.length; i++) out[o + i] = ip[i] ^ out[COOKIE_OFFSET + i];
  return out;
}

/** Parse an IPv4 or IPv6 literal into its bytes, or null. */
export function parseIp(address: string): Uint8Array | null {
  return address.includes(':') ? parseIpv6(address) : parseIpv4(address);
}

function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (p.length === 0 || p.length > 3 || !/^\d+$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | null {
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0].length > 0 ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1].length > 0 ? halves[1].split(':') : [];
  const words: number[] = [];
  const pushGroups = (groups: string[], into: number[], v4Last: boolean): boolean => {
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (v4Last && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (v4 === null) return false;
        into.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
        into.push(parseInt(g, 16));
      }
    }
    return true;
  };
  const tailWords: number[] = [];
  if (!pushGroups(head, words, halves.length === 1) || !pushGroups(tail, tailWords, true)) return null;
  const missing = 8 - words.length - tailWords.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  for (let i = 0; i < missing; i++) words.push(0);
  words.push(...tailWords);
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i] >> 8;
    out[2 * i + 1] = words[i] & 0xff;
  }
  return out;
}
