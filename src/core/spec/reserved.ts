/**
 * Names that must never be keys of a pipeline (docs/security.md, item 7). In JavaScript,
 * `obj['__proto__'] = v` replaces the prototype instead of storing a key (the key "vanishes"), and
 * `obj['constructor']` finds `Object` on a plain object: a pipeline (or a dataset's class names)
 * naming them would silently change behaviour. The validator refuses them as keys, stage ids,
 * params, secrets, `--set` names and outputs; lookups by an untrusted name use {@link ownValue}.
 *
 * Pure and workflow-safe.
 */

export const RESERVED_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

export const RESERVED_KEY_HINT =
  `rename it: ${RESERVED_KEYS.map((k) => `\`${k}\``).join(', ')} are reserved in ` +
  `Fineflow (they would change how objects behave)`;

export function isReservedKey(name: string): boolean {
  return RESERVED_KEYS.includes(name);
}

/** `object[key]` only when `key` is the object's own property: never something inherited from Object.prototype. */
export function ownValue<T>(object: { readonly [key: string]: T } | undefined | null, key: string): T | undefined {
  return object != null && Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}
