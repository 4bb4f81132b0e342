/** Poll `probe` until it returns a value (not undefined/false), bounded by `attempts` x 100 ms. */
export async function until<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, attempts = 150): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
