/**
 * Fixed-window counters shared by every container (so a limit holds across
 * Lambda instances). `hit` counts one request on each key in the window that
 * starts at `windowStart` and returns the counts after this request.
 */
export interface RateLimiter {
  hit(keys: string[], windowStart: number, windowSeconds: number): Promise<number[]>;
}
