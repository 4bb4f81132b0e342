/**
 * RTP fixed header codec (RFC 3550 §5.1), in the style of pion/rtp `packet.go`.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      defined by profile       |           length              |   header extension (§5.3.1)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        header extension                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

export const RTP_VERSION = 2;
export const RTP_HEADER_SIZE = 12;
export const VERSION_SHIFT = 6;
export const PADDING_MASK = 0x20;
export const EXTENSION_MASK = 0x10;
export const CC_MASK = 0x0f;
export const MARKER_MASK = 0x80;
export const PT_MASK = 0x7f;
export const SEQ_OFFSET = 2;
export const TIMESTAMP_OFFSET = 4;
export const SSRC_OFFSET = 8;
export const CSRC_OFFSET = 12;
const EXTENSION_HEADER_SIZE = 4;

/** Why an RTP packet was rejected; stable codes for counters. */
export type RtpDecodeErrorCode =
  /** Shorter than the 12-byte fixed header. */
  | 'RTP_SHORT_PACKET'
  /** Version field is not 2. */
  | 'RTP_BAD_VERSION'
  /** CSRC count points past the end of the packet. */
  | 'RTP_SHORT_CSRC'
  /** Header-extension length points past the end of the packet. */
  | 'RTP_SHORT_EXTENSION'
  /** Padding count is zero or larger than the payload. */
  | 'RTP_BAD_PADDING';

/** Fields needed to encode an RTP header. */
export interface RtpHeaderFields {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** Contributing sources; at most 15. */
  csrc?: readonly number[];
  /** Present when the packet carries a header extension (RFC 3550 §5.3.1). */
  extensionProfile?: number;
  /** Extension body; its length must be a multiple of 4. */
  extensionPayload?: Uint8Array | null;
  /** Padding octets to append (including the count octet); 0 for none. */
  paddingSize?: number;
}

/**
 * A decoded RTP packet, owned by the caller and refilled by {@link decodeRtp} (no allocation per packet
 * except when the CSRC count grows).
 *
 * Ownership: `payload` and `extensionPayload` are `subarray` views of the buffer given to decodeRtp, valid
 * as long as that buffer is not reused. Copy them before retaining if the buffer is pooled or recycled.
 */
export class RtpPacket implements RtpHeaderFields {
  version = RTP_VERSION;
  padding = false;
  extension = false;
  marker = false;
  payloadType = 0;
  sequenceNumber = 0;
  timestamp = 0;
  ssrc = 0;
  /** Reused array; `csrc.length` is the CSRC count. */
  csrc: number[] = [];
  extensionProfile = 0;
  extensionPayload: Buffer | null = null;
  /** Padding octets removed from the end (0 when `padding` is false). */
  paddingSize = 0;
  payload: Buffer = EMPTY;
}

const EMPTY = Buffer.alloc(0);

/**
 * Decode `buf` into `out`. Returns null on success or the reason the packet must be dropped.
 * Never throws on any input (network data).
 */
export function decodeRtp(buf: Buffer, out: RtpPacket): RtpDecodeErrorCode | null {
  const len = buf.length;
  if (len < RTP_HEADER_SIZE) return 'RTP_SHORT_PACKET';
  const b0 = buf[0];
  if (b0 >> VERSION_SHIFT !== RTP_VERSION) return 'RTP_BAD_VERSION';
  const cc = b0 & CC_MASK;
  let offset = CSRC_OFFSET + cc * 4;
  if (offset > len) return 'RTP_SHORT_CSRC';
  const hasExtension = (b0 & EXTENSION_MASK) !== 0;
  let extensionProfile = 0;
  let extensionPayload: Buffer | null = null;
  if (hasExtension) {
    if (offset + EXTENSION_HEADER_SIZE > len) return 'RTP_SHORT_EXTENSION';
    extensionProfile = buf.readUInt16BE(offset);
    const extLen = buf.readUInt16BE(offset + 2) * 4;
    const extStart = offset + EXTENSION_HEADER_SIZE;
    if (extStart + extLen > len) return 'RTP_SHORT_EXTENSION';
    extensionPayload = buf.subarray(extStart, extStart + extLen);
    offset = extStart + extLen;
  }
  let end = len;
  let paddingSize = 0;
  const hasPadding = (b0 & PADDING_MASK) !== 0;
  if (hasPadding) {
    // RFC 3550 §5.1: the last octet counts the padding, itself included, so 0 is invalid.
    paddingSize = buf[len - 1];
    if (paddingSize === 0 || paddingSize > len - offset) return 'RTP_BAD_PADDING';
    end = len - paddingSize;
  }
  const b1 = buf[1];
  out.version = RTP_VERSION;
  out.padding = hasPadding;
  out.extension = hasExtension;
  out.marker = (b1 & MARKER_MASK) !== 0;
  out.payloadType = b1 & PT_MASK;
  out.sequenceNumber = buf.readUInt16BE(SEQ_OFFSET);
  out.timestamp = buf.readUInt32BE(TIMESTAMP_OFFSET);
  out.ssrc = buf.readUInt32BE(SSRC_OFFSET);
  const csrc = out.csrc;
  csrc.length = cc;
  for (let i = 0; i < cc; i++) csrc[i] = buf.readUInt32BE(CSRC_OFFSET + i * 4);
  out.extensionProfile = extensionProfile;
  out.extensionPayload = extensionPayload;
  out.paddingSize = paddingSize;
  out.payload = buf.subarray(offset, end);
  return null;
}

/** Bytes needed to encode `header` with a payload of `payloadLength` bytes. */
export function rtpEncodedSize(header: RtpHeaderFields, payloadLength: number): number {
  let size = RTP_HEADER_SIZE + (header.csrc ? header.csrc.length * 4 : 0) + payloadLength;
  if (header.extensionPayload) size += EXTENSION_HEADER_SIZE + header.extensionPayload.length;
  return size + (header.paddingSize ?? 0);
}

/**
 * Encode `header` and `payload` into `buf` at `offset`; returns the number of bytes written.
 * Throws RangeError/TypeError for programmer errors (buffer too small, bad field values).
 */
export function encodeRtpInto(header: RtpHeaderFields, payload: Uint8Array, buf: Buffer, offset = 0): number {
  const csrc = header.csrc;
  const cc = csrc ? csrc.length : 0;
  if (cc > CC_MASK) throw new TypeError(`too many CSRCs: ${cc}`);
  const ext = header.extensionPayload;
  if (ext && ext.length % 4 !== 0) throw new TypeError('RTP header extension length must be a multiple of 4');
  if (ext && ext.length / 4 > 0xffff) throw new TypeError('RTP header extension too long');
  const paddingSize = header.paddingSize ?? 0;
  if (paddingSize < 0 || paddingSize > 255) throw new TypeError(`bad RTP padding size: ${paddingSize}`);
  if (header.payloadType < 0 || header.payloadType > PT_MASK) throw new TypeError(`bad payload type: ${header.payloadType}`);
  const size = rtpEncodedSize(header, payload.length);
  if (offset + size > buf.length) throw new RangeError(`buffer too small for RTP packet: need ${size}`);
  buf[offset] = (RTP_VERSION << VERSION_SHIFT) | (paddingSize > 0 ? PADDING_MASK : 0) | (ext ? EXTENSION_MASK : 0) | cc;
  buf[offset + 1] = (header.marker ? MARKER_MASK : 0) | header.payloadType;
  buf.writeUInt16BE(header.sequenceNumber & 0xffff, offset + SEQ_OFFSET);
  buf.writeUInt32BE(header.timestamp >>> 0, offset + TIMESTAMP_OFFSET);
  buf.writeUInt32BE(header.ssrc >>> 0, offset + SSRC_OFFSET);
  let p = offset + CSRC_OFFSET;
  for (let i = 0; i < cc; i++, p += 4) buf.writeUInt32BE(csrc![i] >>> 0, p);
  if (ext) {
    buf.writeUInt16BE((header.extensionProfile ?? 0) & 0xffff, p);
    buf.writeUInt16BE(ext.length / 4, p + 2);
    buf.set(ext, p + EXTENSION_HEADER_SIZE);
    p += EXTENSION_HEADER_SIZE + ext.length;
  }
  buf.set(payload, p);
  p += payload.length;
  if (paddingSize > 0) {
    buf.fill(0, p, p + paddingSize - 1);
    buf[p + paddingSize - 1] = paddingSize;
    p += paddingSize;
  }
  return p - offset;
}

/** Encode into a new Buffer (convenience for tests and cold paths). */
export function encodeRtp(header: RtpHeaderFields, payload: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(rtpEncodedSize(header, payload.length));
  encodeRtpInto(header, payload, buf);
  return buf;
}
