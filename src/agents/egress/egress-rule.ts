/**
 * One allowed egress destination, `host:port`, as profiles and operators write it: a DNS name
 * (never an IP literal) and a TCP port, or `*.name:port` for every subdomain of a name. Pure.
 *
 * The same matching runs twice: here (which entries a repository may ask for) and in the proxy's
 * policy helper (`policy-helper.ts`), which must agree with `matchesEgressRule`.
 */
import { err, ok, type Result } from "../errors.js";

/** A destination an agent may reach through the proxy. `host` is lower-case; `*.` marks a wildcard. */
export interface EgressRule {
  readonly host: string;
  readonly port: number;
}

/** How to write an entry, for error messages. */
export const EGRESS_ENTRY_HINT =
  'a DNS name and a port, e.g. "api.example.com:443" (or "*.example.com:443" for its subdomains)';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const PORT = /^\d{1,5}$/;
const WILDCARD = "*.";

/** Parses `host:port`, refusing IP literals, bare names, bad ports and any wildcard but a leading `*.`. */
export function parseEgressEntry(entry: string): Result<EgressRule, string> {
  const text = entry.trim().toLowerCase();
  const refuse = (reason: string) =>
    err(`"${entry}" is not an allowed egress entry: ${reason}; write ${EGRESS_ENTRY_HINT}`);
  if (text.includes("://") || text.includes("/")) return refuse("it is a URL or a path, not host:port");
  if (text.startsWith("[") || (text.match(/:/g) ?? []).length > 1) {
    return refuse("it is an IPv6 address, and egress is allowed to host names only");
  }
  const colon = text.lastIndexOf(":");
  if (colon === -1) return refuse("it has no port");
  const name = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (!PORT.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    return refuse(`"${portText}" is not a TCP port (1-65535)`);
  }
  const wildcard = name.startsWith(WILDCARD);
  const base = wildcard ? name.slice(WILDCARD.length) : name;
  if (base.includes("*")) return refuse('a wildcard may only be a leading "*." before a name');
  const labels = base.split(".");
  if (labels.every((label) => /^\d+$/.test(label)) || /^\d+$/.test(labels.at(-1) ?? "")) {
    return refuse("it is an IP address, and egress is allowed to host names only");
  }
  if (base.length > 253 || !labels.every((label) => LABEL.test(label))) {
    return refuse(`"${base}" is not a DNS name (letters, digits and inner hyphens, separated by dots)`);
  }
  if (labels.length < 2) {
    return refuse(
      `"${base}" is not a fully qualified name${wildcard ? ": the wildcard would cover a whole top-level domain" : ""}`,
    );
  }
  return ok({ host: wildcard ? `${WILDCARD}${base}` : base, port: Number(portText) });
}

/** The rule as it is written: `host:port`. */
export function formatEgressRule(rule: EgressRule): string {
  return `${rule.host}:${rule.port}`;
}

/** True when `rule` lets a request for `host:port` through (the proxy's helper decides the same way). */
export function matchesEgressRule(rule: EgressRule, host: string, port: number): boolean {
  if (rule.port !== port) return false;
  const asked = host.toLowerCase();
  if (rule.host.startsWith(WILDCARD)) return asked.endsWith(rule.host.slice(1));
  return asked === rule.host;
}

/** True when everything `asked` allows is also allowed by `allowed` (a wildcard covers narrower wildcards). */
export function isEgressRuleCovered(asked: EgressRule, allowed: readonly EgressRule[]): boolean {
  // A wildcard asked is matched as its own text: "*.a.example.com" ends with ".example.com".
  return allowed.some((rule) => matchesEgressRule(rule, asked.host, asked.port));
}

/** Parses a comma- or space-separated list (AGENT_EGRESS_ALLOW): the rules, or every problem found. */
export function parseEgressList(text: string): Result<EgressRule[], string[]> {
  const entries = text
    .split(/[\s,]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  const rules: EgressRule[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    const parsed = parseEgressEntry(entry);
    if (parsed.ok) rules.push(parsed.value);
    else problems.push(parsed.error);
  }
  return problems.length > 0 ? err(problems) : ok(dedupeEgressRules(rules));
}

/** Parses entries already validated (a resolved profile's `egress`), dropping any that are not. */
export function toEgressRules(entries: readonly string[]): EgressRule[] {
  return entries.flatMap((entry) => {
    const parsed = parseEgressEntry(entry);
    return parsed.ok ? [parsed.value] : [];
  });
}

/** The rules without repeats, in the order first given. */
export function dedupeEgressRules(rules: readonly EgressRule[]): EgressRule[] {
  const seen = new Set<string>();
  return rules.filter((rule) => {
    const key = formatEgressRule(rule);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
