/** What a datagram arriving on a media port is, decided from its first two bytes. */
export type PacketKind = 'rtp' | 'rtcp' | 'stun' | 'zrtp' | 'dtls' | 'turn' | 'unknown';

/**
 * Demultiplex a datagram on a shared media port.
 * RFC 7983 §7: first byte 0-3 STUN, 16-19 ZRTP, 20-63 DTLS, 64-79 TURN channel, 128-191 RTP/RTCP.
 * RFC 5761 §4: among RTP/RTCP, a second byte of 192-223 (RTCP packet types, i.e. RTP M+PT 64-95) is RTCP.
 */
export function classifyPacket(buf: Uint8Array): PacketKind {
  if (buf.length === 0) return 'unknown';
  const b0 = buf[0];
  if (b0 >= 128 && b0 <= 191) {
    if (buf.length < 2) return 'unknown';
    const b1 = buf[1];
    return b1 >= 192 && b1 <= 223 ? 'rtcp' : 'rtp';
  }
  if (b0 <= 3) return 'stun';
  if (b0 >= 16 && b0 <= 19) return 'zrtp';
  if (b0 >= 20 && b0 <= 63) return 'dtls';
  if (b0 >= 64 && b0 <= 79) return 'turn';
  return 'unknown';
}
