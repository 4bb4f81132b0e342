import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** File names tried first in MOH_DIR, in order. */
const PREFERRED = ['default.wav', 'moh.wav', 'hold.wav'];

/**
 * The music-on-hold file of MOH_DIR: `default.wav` (or `moh.wav`, `hold.wav`), else the first WAV file by name.
 * Undefined when the directory is missing or holds no WAV (call control then plays a soft generated tone).
 */
export function findMusicOnHold(dir: string): string | undefined {
  try {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
    const files = readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.wav')).sort();
    const pick = PREFERRED.find((p) => files.includes(p)) ?? files[0];
    return pick === undefined ? undefined : join(dir, pick);
  } catch {
    return undefined;
  }
}
