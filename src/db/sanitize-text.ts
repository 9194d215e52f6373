/**
 * PostgreSQL refuses U+0000 in `text` and `jsonb`, and a UTF-16 surrogate without its partner in
 * `jsonb`: one such character from an agent's result.json, a CI log or a webhook fails the whole
 * statement (and the transaction that records what happened). Text bound for the database from
 * outside Foreman goes through here first, each bad character replaced by U+FFFD.
 */

/** The replacement character that stands in for what PostgreSQL cannot store. */
export const REPLACEMENT_CHARACTER = "\uFFFD";

// U+0000, a high surrogate not followed by a low one, a low surrogate not preceded by a high one.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A string PostgreSQL can store: U+0000 and lone surrogates replaced by U+FFFD. */
export function sanitizeText(text: string): string {
  return text.replace(UNSTORABLE, REPLACEMENT_CHARACTER);
}

/** `sanitizeText`, with SQL NULL (and undefined) passed through. */
export function sanitizeNullableText<T extends string | null | undefined>(text: T): T {
  return (typeof text === "string" ? sanitizeText(text) : text) as T;
}

/**
 * A value with every string in it sanitised, object keys included, as `JSON.stringify` would see it
 * (a `toJSON` method is called first): what comes back is plain data, so a hash of it is the hash of
 * what the database keeps.
 */
export function sanitizeDeep<T>(value: T): T {
  return sanitizeValue(value, "") as T;
}

function sanitizeValue(value: unknown, key: string): unknown {
  if (typeof value === "string") return sanitizeText(value);
  if (value === null || typeof value !== "object") return value;
  const json = (value as { toJSON?: (key: string) => unknown }).toJSON;
  if (typeof json === "function") {
    const plain = json.call(value, key);
    if (plain !== value) return sanitizeValue(plain, key);
  }
  if (Array.isArray(value)) return value.map((item, index) => sanitizeValue(item, String(index)));
  const clean: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value)) clean[sanitizeText(name)] = sanitizeValue(item, name);
  return clean;
}
