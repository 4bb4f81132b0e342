import { endianness } from 'node:os';

/** WebSocket audio is little-endian PCM16 (native protocol, jambonz L16 frames); typed arrays use host order. */
const HOST_IS_LE = endianness() === 'LE';

/**
 * Little-endian bytes of `src`. On little-endian hosts (every platform Node ships for in practice) this is a
 * zero-copy view of the samples; elsewhere the bytes are swapped into `scratch` (at least 2 * src.length bytes).
 * The result is only valid until `src` or `scratch` is next written.
 */
export function pcm16ToLeBytes(src: Int16Array, scratch: Buffer): Buffer {
  if (HOST_IS_LE) return Buffer.from(src.buffer, src.byteOffset, src.byteLength);
  for (let i = 0; i < src.length; i++) scratch.writeInt16LE(src[i], i * 2);
  return scratch.subarray(0, src.byteLength);
}

/**
 * Read `count` little-endian PCM16 samples from `bytes` at `offset` into `dst` (at `dstOffset`). Works whatever the
 * alignment of `bytes` (socket buffers are often at odd offsets, where an Int16Array view is impossible).
 */
export function readPcm16Le(bytes: Uint8Array, offset: number, count: number, dst: Int16Array, dstOffset = 0): void {
  for (let i = 0, b = offset; i < count; i++, b += 2) {
    const v = bytes[b] | (bytes[b + 1] << 8);
    dst[dstOffset + i] = (v << 16) >> 16;
  }
}
