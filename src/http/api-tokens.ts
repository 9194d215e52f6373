import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** The roles a token can have. */
export const ApiRole = Object.freeze({
  admin: "admin",
  operator: "operator",
  auditor: "auditor",
  viewer: "viewer",
} as const);

/** A role's value. */
export type ApiRole = (typeof ApiRole)[keyof typeof ApiRole];

/** Roles that may read compliance evidence: auditors and admins, not operators. */
export const COMPLIANCE_READERS: readonly ApiRole[] = Object.freeze([ApiRole.admin, ApiRole.auditor]);

/** Roles that may read tasks, their logs and the settings through `/api`: every role. */
export const API_READERS: readonly ApiRole[] = Object.freeze([
  ApiRole.admin,
  ApiRole.operator,
  ApiRole.auditor,
  ApiRole.viewer,
]);

/** Roles that may act through `/api` (start, stop, retry, freeze, unfreeze, change the settings): operators and admins. */
export const API_OPERATORS: readonly ApiRole[] = Object.freeze([ApiRole.admin, ApiRole.operator]);

/** Every token starts with this, so secret scanners and people can recognise one. */
export const API_TOKEN_PREFIX = "fmn_";

/** Whether a text names a role. */
export function isApiRole(value: unknown): value is ApiRole {
  return typeof value === "string" && (Object.values(ApiRole) as string[]).includes(value);
}

/** A new token: `fmn_` + 32 random bytes, base64url. Shown once; only its hash is stored. */
export function generateApiToken(): string {
  return `${API_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

/** The sha256 of a token, hex: what the `api_tokens` table keeps. */
export function hashApiToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Compare two hex hashes in constant time. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}
