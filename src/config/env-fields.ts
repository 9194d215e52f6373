/**
 * The zod field types the environment's parts share: trimmed optional text, comma-separated
 * lists, positive integers with a default. Pure; the parts are composed into `Env` by env.ts.
 */
import { z } from "zod";

/** Text whose surrounding spaces are dropped; empty is unset. */
export const optionalText = z
  .string()
  .transform((value) => value.trim())
  .optional()
  .transform((value) => (value === "" ? undefined : value));

/** Splits a comma-separated setting into its trimmed, non-empty entries. */
export function splitList(text: string): string[] {
  return text
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/** A comma-separated setting whose every entry matches `pattern`, or the `error` naming the form it takes. */
export function commaList(pattern: RegExp, error: string) {
  return z
    .string()
    .default("")
    .transform(splitList)
    .refine((list) => list.every((entry) => pattern.test(entry)), { error });
}

/** A positive whole number, `fallback` when unset. */
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** A whole number from `min` to `max`, `fallback` when unset; `error` says the range when it is outside. */
export const intInRange = (min: number, max: number, error: string, fallback: number) =>
  z.coerce.number().int().min(min, { error }).max(max, { error }).default(fallback);
