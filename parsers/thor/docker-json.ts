/**
 * Docker's JSON answers (`docker inspect`, `docker image inspect`): an array with one object per name asked for.
 *
 * Deterministic: no Node.js APIs.
 */
import type { z } from 'zod';
import { ParseError, zodProblems } from '../parse-error.js';

/**
 * The first object of docker's answer, checked against `schema`. Takes its stdout or the decoded value; an empty array
 * (docker's answer for an unknown name, with exit code 1) means docker knows no such `thing`.
 */
export function firstDockerObject<S extends z.ZodType>(
  schema: S,
  json: unknown,
  source: string,
  thing: string,
): z.output<S> {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (err) {
      throw ParseError.of(source, `not JSON (${(err as Error).message})`, json);
    }
  }
  const first: unknown = Array.isArray(value) ? value[0] : value;
  if (first === undefined)
    throw ParseError.of(source, `empty array: no such ${thing}`, typeof json === 'string' ? json : '[]');
  const parsed = schema.safeParse(first);
  if (!parsed.success)
    throw ParseError.of(source, `unexpected shape (${zodProblems(parsed.error)})`, JSON.stringify(first));
  return parsed.data;
}
