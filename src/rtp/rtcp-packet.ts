/**
 * RTCP compound packet codec (RFC 3550 §6): SR, RR, SDES, BYE; other packet types (APP, feedback, XR) are
 * kept as raw bodies so a compound packet still decodes.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|    RC   |      PT       |             length            |  length = 32-bit words - 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_APP = 204;
export const SDES_END = 0;
export const SDES_CNAME = 1;
const RTCP_HEADER_SIZE = 4;
const REPORT_BLOCK_SIZE = 24;
const SR_INFO_SIZE = 20;
const RC_MASK = 0x1f;
const PADDING_MASK = 0x20;
const MAX_COUNT = 31;

/** Reception report block (RFC 3550 §6.4.1). */
export interface RtcpReportBlock {
  /** SSRC of the source this block reports on. */
  ssrc: number;
  /** 8-bit fixed point fraction of packets lost since the previous report. */
  fractionLost: number;
  /** Cumulative packets lost (signed 24-bit). */
  cumulativeLost: number;
  /** Extended highest sequence number received. */
  highestSeq: number;
  /** Interarrival jitter in timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received from this source, 0 if none. */
  lsr: number;
  /** Delay since that SR in 1/65536 s. */
  dlsr: number;
}

export interface RtcpSenderReport {
  type: 'sr';
  ssrc: number;
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports: RtcpReportBlock[];
}

export interface RtcpReceiverReport {
  type: 'rr';
  ssrc: number;
  reports: RtcpReportBlock[];
}

export interface RtcpSdesItem {
  /** SDES item type (1 = CNAME, RFC 3550 §6.5). */
  type: number;
  text: string;
}

export interface RtcpSdesChunk {
  ssrc: number;
  items: RtcpSdesItem[];
}

export interface RtcpSourceDescription {
  type: 'sdes';
  chunks: RtcpSdesChunk[];
}

export interface RtcpBye {
  type: 'bye';
  ssrcs: number[];
  reason?: string;
}

/** A packet type this codec does not interpret (APP, RTPFB, PSFB, XR...), kept raw. */
export interface RtcpOtherPacket {
  type: 'other';
  packetType: number;
  /** The 5-bit count/format field. */
  count: number;
  /** Body after the 4-byte header, padding removed; a view of the decoded buffer. */
  body: Buffer;
}

export type RtcpPacket = RtcpSenderReport | RtcpReceiverReport | RtcpSourceDescription | RtcpBye | RtcpOtherPacket;

export type RtcpDecodeErrorCode =
  | 'RTCP_SHORT_PACKET'
  | 'RTCP_BAD_VERSION'
  | 'RTCP_BAD_LENGTH'
  | 'RTCP_BAD_PADDING'
  | 'RTCP_BAD_REPORT_COUNT'
  | 'RTCP_BAD_SDES'
  | 'RTCP_BAD_BYE';

export type RtcpDecodeResult = { ok: true; packets: RtcpPacket[] } | { ok: false; code: RtcpDecodeErrorCode };

function fail(code: RtcpDecodeErrorCode): RtcpDecodeResult {
  return { ok: false, code };
}

function readReportBlocks(buf: Buffer, offset: number, count: number): RtcpReportBlock[] {
  const reports: RtcpReportBlock[] = [];
  for (let i = 0; i < count; i++, offset += REPORT_BLOCK_SIZE) {
    // Cumulative lost is a signed 24-bit integer (RFC 3550 §6.4.1).
    let lost = buf.readUIntBE(offset + 5, 3);
    if (lost & 0x800000) lost -= 0x1000000;
    reports.push({
      ssrc: buf.readUInt32BE(offset),
      fractionLost: buf[offset + 4],
      cumulativeLost: lost,
      highestSeq: buf.readUInt32BE(offset + 8),
      jitter: buf.readUInt32BE(offset + 12),
      lsr: buf.readUInt32BE(offset + 16),
      dlsr: buf.readUInt32BE(offset + 20),
    });
  }
  return reports;
}

function decodeSdes(body: Buffer, count: number): RtcpSourceDescription | null {
  const chunks: RtcpSdesChunk[] = [];
  let p = 0;
  for (let c = 0; c < count; c++) {
    if (p + 4 > body.length) return null;
    const chunk: RtcpSdesChunk = { ssrc: body.readUInt32BE(p), items: [] };
    p += 4;
    for (;;) {
      if (p >= body.length) return null;
      const itemType = body[p];
      if (itemType === SDES_END) {
        // RFC 3550 §6.5: the item list ends with null octets up to the next 32-bit boundary.
        p = (p + 4) & ~3;
        break;
      }
      if (p + 2 > body.length) return null;
      const itemLen = body[p + 1];
      if (p + 2 + itemLen > body.length) return null;
      chunk.items.push({ type: itemType, text: body.toString('utf8', p + 2, p + 2 + itemLen) });
      p += 2 + itemLen;
    }
    chunks.push(chunk);
  }
  return { type: 'sdes', chunks };
}

/**
 * Decode an RTCP compound packet (RFC 3550 §6.1). Every packet's length must fit exactly; only the last
 * may be padded (§6.4.1). Never throws.
 */
export function decodeRtcp(buf: Buffer): RtcpDecodeResult {
  if (buf.length < RTCP_HEADER_SIZE) return fail('RTCP_SHORT_PACKET');
  const packets: RtcpPacket[] = [];
  let offset = 0;
  while (offset < buf.length) {
    if (offset + RTCP_HEADER_SIZE > buf.length) return fail('RTCP_SHORT_PACKET');
    const b0 = buf[offset];
    if (b0 >> 6 !== 2) return fail('RTCP_BAD_VERSION');
    const count = b0 & RC_MASK;
    const pt = buf[offset + 1];
    const size = (buf.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + size > buf.length) return fail('RTCP_BAD_LENGTH');
    let end = offset + size;
    if (b0 & PADDING_MASK) {
      // Only the last packet of a compound may carry padding.
      if (end !== buf.length) return fail('RTCP_BAD_PADDING');
      const pad = buf[end - 1];
      if (pad === 0 || pad > size - RTCP_HEADER_SIZE) return fail('RTCP_BAD_PADDING');
      end -= pad;
    }
    const bodyStart = offset + RTCP_HEADER_SIZE;
    const bodyLen = end - bodyStart;
    switch (pt) {
      case RTCP_SR: {
        if (bodyLen < 4 + SR_INFO_SIZE + count * REPORT_BLOCK_SIZE) return fail('RTCP_BAD_REPORT_COUNT');
        packets.push({
          type: 'sr',
          ssrc: buf.readUInt32BE(bodyStart),
          ntpSeconds: buf.readUInt32BE(bodyStart + 4),
          ntpFraction: buf.readUInt32BE(bodyStart + 8),
          rtpTimestamp: buf.readUInt32BE(bodyStart + 12),
          packetCount: buf.readUInt32BE(bodyStart + 16),
          octetCount: buf.readUInt32BE(bodyStart + 20),
          reports: readReportBlocks(buf, bodyStart + 4 + SR_INFO_SIZE, count),
        });
        break;
      }
      case RTCP_RR: {
        if (bodyLen < 4 + count * REPORT_BLOCK_SIZE) return fail('RTCP_BAD_REPORT_COUNT');
        packets.push({ type: 'rr', ssrc: buf.readUInt32BE(bodyStart), reports: readReportBlocks(buf, bodyStart + 4, count) });
        break;
      }
      case RTCP_SDES: {
        const sdes = decodeSdes(buf.subarray(bodyStart, end), count);
        if (!sdes) return fail('RTCP_BAD_SDES');
        packets.push(sdes);
        break;
      }
      case RTCP_BYE: {
        if (bodyLen < count * 4) return fail('RTCP_BAD_BYE');
        const ssrcs: number[] = [];
        for (let i = 0; i < count; i++) ssrcs.push(buf.readUInt32BE(bodyStart + i * 4));
        const bye: RtcpBye = { type: 'bye', ssrcs };
        const r = bodyStart + count * 4;
        if (r < end) {
          const reasonLen = buf[r];
          if (r + 1 + reasonLen > end) return fail('RTCP_BAD_BYE');
          bye.reason = buf.toString('utf8', r + 1, r + 1 + reasonLen);
        }
        packets.push(bye);
        break;
      }
      default:
        packets.push({ type: 'other', packetType: pt, count, body: buf.subarray(bodyStart, end) });
    }
    offset += size;
  }
  return { ok: true, packets };
}

function sdesBodySize(p: RtcpSourceDescription): number {
  let size = 0;
  for (const chunk of p.chunks) {
    let n = 4;
    for (const item of chunk.items) n += 2 + Math.min(255, Buffer.byteLength(item.text, 'utf8'));
    size += (n + 4) & ~3; // at least one null octet, then pad to 32 bits
  }
  return size;
}

function packetSize(p: RtcpPacket): number {
  switch (p.type) {
    case 'sr':
      return RTCP_HEADER_SIZE + 4 + SR_INFO_SIZE + p.reports.length * REPORT_BLOCK_SIZE;
    case 'rr':
      return RTCP_HEADER_SIZE + 4 + p.reports.length * REPORT_BLOCK_SIZE;
    case 'sdes':
      return RTCP_HEADER_SIZE + sdesBodySize(p);
    case 'bye': {
      let n = RTCP_HEADER_SIZE + p.ssrcs.length * 4;
      if (p.reason !== undefined) n += (1 + Math.min(255, Buffer.byteLength(p.reason, 'utf8')) + 3) & ~3;
      return n;
    }
    case 'other':
      return RTCP_HEADER_SIZE + ((p.body.length + 3) & ~3);
  }
}

/** Total encoded size of a compound packet. */
export function rtcpEncodedSize(packets: readonly RtcpPacket[]): number {
  let n = 0;
  for (const p of packets) n += packetSize(p);
  return n;
}

function writeReportBlocks(buf: Buffer, offset: number, reports: readonly RtcpReportBlock[]): number {
  for (const r of reports) {
    buf.writeUInt32BE(r.ssrc >>> 0, offset);
    buf[offset + 4] = Math.max(0, Math.min(255, r.fractionLost));
    // Clamp to the signed 24-bit range (RFC 3550 §6.4.1) and store as two's complement.
    const lost = Math.max(-0x800000, Math.min(0x7fffff, r.cumulativeLost));
    buf.writeUIntBE(lost < 0 ? lost + 0x1000000 : lost, offset + 5, 3);
    buf.writeUInt32BE(r.highestSeq >>> 0, offset + 8);
    buf.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(r.jitter))) >>> 0, offset + 12);
    buf.writeUInt32BE(r.lsr >>> 0, offset + 16);
    buf.writeUInt32BE(r.dlsr >>> 0, offset + 20);
    offset += REPORT_BLOCK_SIZE;
  }
  return offset;
}

function writeHeader(buf: Buffer, offset: number, count: number, pt: number, size: number): void {
  if (count > MAX_COUNT) throw new TypeError(`RTCP count ${count} exceeds ${MAX_COUNT}`);
  buf[offset] = 0x80 | count;
  buf[offset + 1] = pt;
  buf.writeUInt16BE(size / 4 - 1, offset + 2);
}

/** Encode a compound packet into `buf` at `offset`; returns bytes written. Throws RangeError if too small. */
export function encodeRtcpInto(packets: readonly RtcpPacket[], buf: Buffer, offset = 0): number {
  const total = rtcpEncodedSize(packets);
  if (offset + total > buf.length) throw new RangeError(`buffer too small for RTCP packet: need ${total}`);
  let p = offset;
  for (const pkt of packets) {
    const size = packetSize(pkt);
    buf.fill(0, p, p + size);
    let q = p + RTCP_HEADER_SIZE;
    switch (pkt.type) {
      case 'sr':
        writeHeader(buf, p, pkt.reports.length, RTCP_SR, size);
        buf.writeUInt32BE(pkt.ssrc >>> 0, q);
        buf.writeUInt32BE(pkt.ntpSeconds >>> 0, q + 4);
        buf.writeUInt32BE(pkt.ntpFraction >>> 0, q + 8);
        buf.writeUInt32BE(pkt.rtpTimestamp >>> 0, q + 12);
        buf.writeUInt32BE(pkt.packetCount >>> 0, q + 16);
        buf.writeUInt32BE(pkt.octetCount >>> 0, q + 20);
        writeReportBlocks(buf, q + 24, pkt.reports);
        break;
      case 'rr':
        writeHeader(buf, p, pkt.reports.length, RTCP_RR, size);
        buf.writeUInt32BE(pkt.ssrc >>> 0, q);
        writeReportBlocks(buf, q + 4, pkt.reports);
        break;
      case 'sdes':
        writeHeader(buf, p, pkt.chunks.length, RTCP_SDES, size);
        for (const chunk of pkt.chunks) {
          const start = q;
          buf.writeUInt32BE(chunk.ssrc >>> 0, q);
          q += 4;
          for (const item of chunk.items) {
            const text = Buffer.from(item.text, 'utf8').subarray(0, 255);
            buf[q] = item.type;
            buf[q + 1] = text.length;
            text.copy(buf, q + 2);
            q += 2 + text.length;
          }
          q = start + (((q - start) + 4) & ~3); // null terminator + padding, already zeroed
        }
        break;
      case 'bye':
        writeHeader(buf, p, pkt.ssrcs.length, RTCP_BYE, size);
        for (const ssrc of pkt.ssrcs) {
          buf.writeUInt32BE(ssrc >>> 0, q);
          q += 4;
        }
        if (pkt.reason !== undefined) {
          const text = Buffer.from(pkt.reason, 'utf8').subarray(0, 255);
          buf[q] = text.length;
          text.copy(buf, q + 1);
        }
        break;
      case 'other':
        writeHeader(buf, p, pkt.count, pkt.packetType, size);
        pkt.body.copy(buf, q);
        break;
    }
    p += size;
  }
  return p - offset;
}

/** Encode a compound packet into a new Buffer (RTCP is sent every few seconds; allocation is fine). */
export function encodeRtcp(packets: readonly RtcpPacket[]): Buffer {
  const buf = Buffer.alloc(rtcpEncodedSize(packets));
  encodeRtcpInto(packets, buf);
  return buf;
}

/** The CNAME of the first SDES chunk for `ssrc`, if present. */
export function findCname(packets: readonly RtcpPacket[], ssrc: number): string | undefined {
  for (const p of packets) {
    if (p.type !== 'sdes') continue;
    for (const c of p.chunks) {
      if (c.ssrc !== ssrc) continue;
      for (const item of c.items) if (item.type === SDES_CNAME) return item.text;
    }
  }
  return undefined;
}
