/**
 * A small pcap (libpcap classic format) reader for test fixtures: yields the UDP datagrams of a capture.
 * Supports both byte orders, micro/nanosecond timestamps, and the link types Ethernet (with 802.1Q tags),
 * Linux cooked (SLL), BSD loopback and raw IP; IPv4 (unfragmented) and IPv6 without extension headers.
 */
import { readFileSync } from 'node:fs';

export interface PcapUdpPacket {
  /** Capture time in milliseconds since the epoch. */
  timeMs: number;
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
  payload: Buffer;
}

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LINUX_SLL = 113;

function ipv4(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

function ipv6(buf: Buffer, off: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(buf.readUInt16BE(off + i).toString(16));
  return parts.join(':');
}

function udpFromIp(frame: Buffer, off: number, timeMs: number): PcapUdpPacket | null {
  if (off >= frame.length) return null;
  const version = frame[off] >> 4;
  let src: string;
  let dst: string;
  let udp: number;
  if (version === 4) {
    const ihl = (frame[off] & 0x0f) * 4;
    if (frame[off + 9] !== 17) return null;
    const fragment = frame.readUInt16BE(off + 6) & 0x3fff;
    if (fragment !== 0) return null;
    src = ipv4(frame, off + 12);
    dst = ipv4(frame, off + 16);
    udp = off + ihl;
  } else if (version === 6) {
    if (frame[off + 6] !== 17) return null;
    src = ipv6(frame, off + 8);
    dst = ipv6(frame, off + 24);
    udp = off + 40;
  } else {
    return null;
  }
  if (udp + 8 > frame.length) return null;
  const len = frame.readUInt16BE(udp + 4);
  const end = Math.min(frame.length, udp + Math.max(8, len));
  return {
    timeMs,
    srcAddress: src,
    srcPort: frame.readUInt16BE(udp),
    dstAddress: dst,
    dstPort: frame.readUInt16BE(udp + 2),
    payload: Buffer.from(frame.subarray(udp + 8, end)),
  };
}

/** Parse a pcap buffer into its UDP datagrams. Throws on a file that is not a classic pcap. */
export function parsePcap(data: Buffer): PcapUdpPacket[] {
  if (data.length < 24) throw new Error('not a pcap file: too short');
  const magicLE = data.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    le = true;
    nano = magicLE === 0xa1b23c4d;
  } else {
    const magicBE = data.readUInt32BE(0);
    if (magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) throw new Error('not a pcap file: bad magic');
    le = false;
    nano = magicBE === 0xa1b23c4d;
  }
  const u32 = (o: number): number => (le ? data.readUInt32LE(o) : data.readUInt32BE(o));
  const linkType = u32(20) & 0x0fffffff;
  const out: PcapUdpPacket[] = [];
  let off = 24;
  while (off + 16 <= data.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const capLen = u32(off + 8);
    off += 16;
    if (off + capLen > data.length) break;
    const frame = data.subarray(off, off + capLen);
    off += capLen;
    const timeMs = sec * 1000 + (nano ? frac / 1e6 : frac / 1e3);
    let ipOff: number;
    if (linkType === LINKTYPE_ETHERNET) {
      let typeOff = 12;
      while (typeOff + 2 <= frame.length && frame.readUInt16BE(typeOff) === 0x8100) typeOff += 4;
      if (typeOff + 2 > frame.length) continue;
      const etherType = frame.readUInt16BE(typeOff);
      if (etherType !== 0x0800 && etherType !== 0x86dd) continue;
      ipOff = typeOff + 2;
    } else if (linkType === LINKTYPE_LINUX_SLL) {
      ipOff = 16;
    } else if (linkType === LINKTYPE_NULL) {
      ipOff = 4;
    } else if (linkType === LINKTYPE_RAW) {
      ipOff = 0;
    } else {
      throw new Error(`unsupported pcap link type ${linkType}`);
    }
    const pkt = udpFromIp(frame, ipOff, timeMs);
    if (pkt) out.push(pkt);
  }
  return out;
}

/** Read a pcap file and return its UDP datagrams. */
export function readPcapUdp(path: string): PcapUdpPacket[] {
  return parsePcap(readFileSync(path));
}
