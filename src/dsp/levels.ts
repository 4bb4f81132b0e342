/**
 * Level convention used by every dsp module (generator, detector, tests).
 *
 * ITU-T G.711 §4 / Table 5: the largest sine a mu-law channel can carry is +3.17 dBm0. We map that
 * full-scale sine to PCM16 peak 32767, so a 0 dBm0 sine has peak 32767 * 10^(-3.17/20) ~= 22_767
 * (RMS ~= 16_099). A-law's +3.14 dBm0 differs by 0.03 dB; one convention for both keeps levels comparable.
 */
export const FULL_SCALE_SINE_DBM0 = 3.17;

/** Peak amplitude (PCM16 units) of a 0 dBm0 sine. */
export const DBM0_PEAK = 32767 * Math.pow(10, -FULL_SCALE_SINE_DBM0 / 20);

/** Mean power (PCM16 units squared) of a 0 dBm0 sine: peak^2 / 2. */
export const DBM0_POWER = (DBM0_PEAK * DBM0_PEAK) / 2;

/** Peak amplitude (PCM16 units) of a sine at `dbm0`. */
export function dbm0ToPeak(dbm0: number): number {
  return DBM0_PEAK * Math.pow(10, dbm0 / 20);
}

/** Level in dBm0 of a signal of mean power `power` (PCM16 units squared); -Infinity for silence. */
export function powerToDbm0(power: number): number {
  return power > 0 ? 10 * Math.log10(power / DBM0_POWER) : -Infinity;
}

/** Mean power (PCM16 units squared) of a signal at `dbm0`. */
export function dbm0ToPower(dbm0: number): number {
  return DBM0_POWER * Math.pow(10, dbm0 / 10);
}

/** Level in dBm0 of PCM16 samples (RMS over the whole array); -Infinity for silence or an empty array. */
export function measureDbm0(samples: Int16Array): number {
  const n = samples.length;
  if (n === 0) return -Infinity;
  let acc = 0;
  for (let i = 0; i < n; i++) acc += samples[i] * samples[i];
  return powerToDbm0(acc / n);
}
