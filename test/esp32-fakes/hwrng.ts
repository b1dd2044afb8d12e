/** The project's native hal/esp32/hwrng, on node:crypto; counts calls so tests see it used. */
import { randomFillSync } from "node:crypto";

export const stats = { calls: 0 };

export function fillRandom(buffer: ArrayBuffer): void {
  stats.calls++;
  randomFillSync(new Uint8Array(buffer));
}
