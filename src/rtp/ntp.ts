/** NTP timestamp helpers for RTCP sender reports (RFC 3550 §4, §6.4.1). */

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
export const NTP_UNIX_OFFSET = 2_208_988_800;
const TWO_POW_32 = 0x1_0000_0000;

/** A 64-bit NTP timestamp as two unsigned 32-bit halves. */
export interface NtpTime {
  seconds: number;
  fraction: number;
}

/** Convert wall-clock milliseconds since the Unix epoch to NTP (written into `out` to avoid allocation). */
export function ntpFromUnixMs(ms: number, out: NtpTime = { seconds: 0, fraction: 0 }): NtpTime {
  const whole = Math.floor(ms / 1000);
  out.seconds = (whole + NTP_UNIX_OFFSET) >>> 0;
  out.fraction = Math.floor(((ms - whole * 1000) / 1000) * TWO_POW_32) >>> 0;
  return out;
}

/** Convert an NTP timestamp back to Unix milliseconds (for the 1900-2036 era). */
export function unixMsFromNtp(seconds: number, fraction: number): number {
  return (seconds - NTP_UNIX_OFFSET) * 1000 + (fraction / TWO_POW_32) * 1000;
}

/** The middle 32 bits of an NTP timestamp (the LSR field of a report block, RFC 3550 §6.4.1). */
export function ntpMiddle32(seconds: number, fraction: number): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

/** Convert milliseconds to the 1/65536-second units of the DLSR field. */
export function msToNtpShort(ms: number): number {
  return Math.max(0, Math.min(0xffffffff, Math.round((ms * 65536) / 1000))) >>> 0;
}

/** Convert 1/65536-second units (LSR/DLSR/RTT arithmetic) to milliseconds. */
export function ntpShortToMs(units: number): number {
  return (units * 1000) / 65536;
}
