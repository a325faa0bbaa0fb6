import { InviteError } from './errors.js';

/**
 * An integer parameter, as a number or as a query string gives it (digits
 * only): `fallback` when absent, `invalid-request` unless from `min` to `max`.
 * The one check of `limit` and `depth`; handlers pass the raw value.
 */
export const intParam = (raw: number | string | undefined, name: string, min: number, max: number, fallback: number): number => {
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InviteError('invalid-request', `${name} must be an integer from ${min} to ${max}`);
  }
  return value;
};
