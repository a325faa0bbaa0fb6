/**
 * The TypeScript type of a valid body, read off its JSON schema (schemas.ts)
 * for the keywords those schemas use: `type` (one or a list), `enum`,
 * `properties` with `required`, `items`. validators.generated.d.ts gives each
 * precompiled validator the type of its schema, so a handler's `body` is typed
 * by the very schema that checked it.
 */
type Primitive<T> = T extends 'string'
  ? string
  : T extends 'integer' | 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'null'
        ? null
        : T extends 'array'
          ? unknown[]
          : T extends 'object'
            ? Record<string, unknown>
            : never;

type Flat<T> = { [K in keyof T]: T[K] } & {};

type ObjectOf<P, R> = Flat<
  { -readonly [K in keyof P & R]: FromSchema<P[K]> } & { -readonly [K in Exclude<keyof P, R>]?: FromSchema<P[K]> }
>;

export type FromSchema<S> = S extends { enum: readonly (infer E)[] }
  ? E
  : S extends { type: 'object'; properties: infer P }
    ? ObjectOf<P, S extends { required: readonly (infer R)[] } ? R : never>
    : S extends { type: 'array'; items: infer I }
      ? FromSchema<I>[]
      : S extends { type: readonly (infer T)[] }
        ? Primitive<T>
        : S extends { type: infer T }
          ? Primitive<T>
          : unknown;
