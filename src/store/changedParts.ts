/**
 * Checks only what a copy-on-write change replaced: with structural sharing, an unchanged part is
 * the very same object as before, so a large document is validated in proportion to the change.
 */
import type { z } from 'zod';

interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The schema under optional/default/nullable wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let def = defOf(current); def.innerType && ['optional', 'default', 'nullable', 'prefault'].includes(def.type); def = defOf(current)) current = def.innerType;
  return current;
}

/** The first problem in the parts of `next` that are not shared with `previous`, if any. */
export function problemInChange(schema: z.ZodType, previous: unknown, next: unknown, path: string[] = []): string | undefined {
  if (previous === next) return undefined;
  const inner = unwrap(schema);
  const def = defOf(inner);
  const bothObjects = previous !== null && next !== null && typeof previous === 'object' && typeof next === 'object';
  if (bothObjects && def.type === 'object' && def.shape && !Array.isArray(next)) {
    const before = previous as Record<string, unknown>;
    const after = next as Record<string, unknown>;
    for (const key of Object.keys(after)) {
      const field = def.shape[key];
      if (!field) return problemOf(inner, next, path);
      const problem = problemInChange(field, before[key], after[key], [...path, key]);
      if (problem) return problem;
    }
    // A required field that went missing.
    for (const key of Object.keys(def.shape)) if (!(key in after) && key in before) return problemInChange(def.shape[key]!, before[key], undefined, [...path, key]);
    return undefined;
  }
  if (bothObjects && def.type === 'array' && def.element && Array.isArray(previous) && Array.isArray(next)) {
    const kept = new Set(previous);
    for (const [index, element] of next.entries()) {
      if (kept.has(element)) continue;
      const problem = problemOf(def.element, element, [...path, String(index)]);
      if (problem) return problem;
    }
    return undefined;
  }
  if (bothObjects && def.type === 'record' && def.valueType && !Array.isArray(next)) {
    const before = previous as Record<string, unknown>;
    for (const [key, value] of Object.entries(next as Record<string, unknown>)) {
      if (before[key] === value) continue;
      const problem = problemOf(inner, { [key]: value }, path);
      if (problem) return problem;
    }
    return undefined;
  }
  return problemOf(schema, next, path);
}

function problemOf(schema: z.ZodType, value: unknown, path: string[]): string | undefined {
  const result = schema.safeParse(value);
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  return `${[...path, ...(issue?.path.map(String) ?? [])].join('.')} ${issue?.message}`;
}
