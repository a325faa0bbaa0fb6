/**
 * The request body validators are compiled ahead of time (functions/http/
 * validators.build.ts): the generated file must match the schemas, and the
 * compiled code must answer every body exactly as the schema compiled at run
 * time by @middy/validator's transpileSchema did (validity and errors, whose
 * first one becomes the `invalid-request` message).
 */
import { readFileSync } from 'node:fs';
import { transpileSchema } from '@middy/validator/transpile';
import { describe, expect, it } from 'vitest';
import * as schemas from '../../functions/http/schemas.js';
import { AJV_OPTIONS, eventSchema, generatedValidators } from '../../functions/http/validators.build.js';
import * as generated from '../../functions/http/validators.generated.js';

type Schema = { required?: readonly string[]; properties: Record<string, { type?: unknown; maxLength?: number; maxItems?: number }> };

const all = { ...schemas } as unknown as Record<string, Schema>;
const compiledNow = (schema: object) =>
  transpileSchema(eventSchema(schema), { ...AJV_OPTIONS }) as unknown as ((e: unknown) => boolean) & { errors?: unknown };

/** Values that hit each keyword the schemas use: types, lengths in code points, enums, patterns, integers, bounds. */
const values = (p: Schema['properties'][string]): unknown[] => {
  const long = (p.maxLength ?? 10) + 1;
  return [
    'a',
    'account',
    'contact',
    'user@example.com',
    '',
    'x'.repeat(long),
    '😀'.repeat(long - 1),
    '😀'.repeat(p.maxLength ?? 10),
    '::1',
    'no spaces allowed',
    1,
    1.5,
    0,
    -1,
    2_000_000,
    null,
    true,
    [],
    ['staff'],
    [''],
    Array.from({ length: (p.maxItems ?? 20) + 1 }, () => 'g'),
    {},
  ];
};

const bodies = (schema: Schema): unknown[] => {
  const names = Object.keys(schema.properties);
  const base = Object.fromEntries((schema.required ?? []).map((n) => [n, n === 'type' ? 'account' : 'value@example.com']));
  const out: unknown[] = [undefined, null, 'text', 42, [], {}, base, { ...base, unknown: 1 }, { __proto__: null, ...base }];
  for (const name of names) for (const v of values(schema.properties[name]!)) out.push({ ...base, [name]: v });
  for (const r of schema.required ?? []) {
    const { [r]: _gone, ...rest } = base;
    out.push(rest);
  }
  return out;
};

describe('precompiled body validators', () => {
  it('the generated file is what validators.build.ts makes of schemas.ts (npm run build:validators)', () => {
    const { js, dts } = generatedValidators();
    const stale = 'functions/http/validators.generated.* are stale: run npm run build:validators';
    expect(readFileSync(new URL('../../functions/http/validators.generated.js', import.meta.url), 'utf8') === js, stale).toBe(true);
    expect(readFileSync(new URL('../../functions/http/validators.generated.d.ts', import.meta.url), 'utf8') === dts, stale).toBe(true);
  });

  for (const [name, schema] of Object.entries(all)) {
    it(`${name}: the same answers and errors as the schema compiled at run time`, () => {
      const precompiled = (generated as unknown as Record<string, ((e: unknown) => boolean) & { errors?: unknown }>)[name]!;
      const atRunTime = compiledNow(schema);
      let invalid = 0;
      for (const body of bodies(schema)) {
        const event = body === undefined ? {} : { body };
        const ok = precompiled(event);
        expect(ok, JSON.stringify(body)).toBe(atRunTime(event));
        expect(precompiled.errors ?? null).toEqual(atRunTime.errors ?? null);
        if (!ok) invalid++;
      }
      expect(invalid).toBeGreaterThan(10);
    });
  }
});
