// The raw client, coalescing: every frame it has ready at once goes out in one
// WebSocket message (the SENDs of one pump, up to 256 KiB; the ACKs for one incoming
// WebSocket message). Shows what one WebSocket message per frame costs in Chromium.
import { connectWith } from './raw.mjs';

export { makeParser } from './raw.mjs';

export const name = 'raw-batch';
export const supports = ['fanout'];

export function connect(opts) {
  return connectWith(opts, { coalesce: true });
}
