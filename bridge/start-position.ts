/** Where a route with no checkpoint starts: the first revision its watch delivers. */
import type { Route } from '../shared/index.js';

export function firstRevision(position: Route['startPosition'], head: bigint): bigint {
  switch (position) {
    case 'earliest':
      return 1n;
    // A resync reads the prefix as of the head (or later), then watches from just after it.
    case 'latest':
    case 'resync':
      return head + 1n;
    default:
      return BigInt(position);
  }
}
