/**
 * Which hosts one job may reach: operators widen, repositories narrow. Pure.
 *
 *   operator-allowed = the profile's own list (the operator's AGENT_PROFILES_FILE entry, else the
 *                      built-in's) ∪ AGENT_EGRESS_ALLOW (every repository, every egress profile)
 *   effective        = the repository's `egress` ∩ operator-allowed, when the repository sets one;
 *                      operator-allowed otherwise
 *
 * An entry the repository asks for and the operator did not allow is refused: the job still runs
 * without it, and the refusal (naming the host and the settings an operator would change) is
 * written to the job's log and returned with its outcome.
 */
import {
  dedupeEgressRules,
  formatEgressRule,
  isEgressRuleCovered,
  parseEgressEntry,
  toEgressRules,
  type EgressRule,
} from "./egress-rule.js";

/** An entry a repository asked for that the operator does not allow, and what would allow it. */
export interface EgressRefusal {
  readonly entry: string;
  readonly message: string;
}

/** The hosts one job may reach, and what a repository asked for in vain. */
export interface EgressPolicy {
  readonly rules: readonly EgressRule[];
  readonly refused: readonly EgressRefusal[];
}

/** The lists that decide a job's egress, by who wrote them. */
export interface EgressPolicyInput {
  readonly profileName: string;
  /** The profile's list from the operator's layer, else the built-in's (already validated). */
  readonly operatorProfile: readonly string[];
  /** AGENT_EGRESS_ALLOW, already parsed. */
  readonly operatorAllow: readonly EgressRule[];
  /** The repository's `profiles.<name>.egress`, or undefined when it does not set one. */
  readonly repository?: readonly string[];
}

/** Resolves the job's egress rules, applying operator widening and repository narrowing. */
export function resolveEgressPolicy(input: EgressPolicyInput): EgressPolicy {
  const operatorAllowed = dedupeEgressRules([...toEgressRules(input.operatorProfile), ...input.operatorAllow]);
  if (input.repository === undefined) return { rules: operatorAllowed, refused: [] };
  const rules: EgressRule[] = [];
  const refused: EgressRefusal[] = [];
  for (const entry of input.repository) {
    const parsed = parseEgressEntry(entry);
    if (!parsed.ok) {
      refused.push({ entry, message: parsed.error });
      continue;
    }
    if (isEgressRuleCovered(parsed.value, operatorAllowed)) rules.push(parsed.value);
    else refused.push({ entry, message: describeRefusal(input.profileName, parsed.value) });
  }
  return { rules: dedupeEgressRules(rules), refused };
}

/** The message for an entry the operator did not allow: the host, and the two settings that would allow it. */
export function describeRefusal(profileName: string, rule: EgressRule): string {
  const entry = formatEgressRule(rule);
  return (
    `Egress to ${entry}, asked for by \`profiles.${profileName}.egress\` in .github/foreman.yml, is refused: ` +
    `this Foreman installation does not allow it for profile "${profileName}", and a repository can only narrow ` +
    `what the operator allows. An operator can allow it for every repository with AGENT_EGRESS_ALLOW=${entry} ` +
    `(comma-separated), or for this profile under \`profiles.${profileName}.egress\` in AGENT_PROFILES_FILE.`
  );
}
