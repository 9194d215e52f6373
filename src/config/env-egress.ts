/**
 * The environment's egress part (docs/agents.md#network-and-egress): what every `network: egress`
 * job may reach, the proxy's image, Docker names and host directory, and the internal ranges an
 * allowed name may resolve to. Composed into `Env` by env.ts.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { parseEgressList } from "../agents/egress/egress-rule.js";
import { EGRESS_PREFIX } from "../agents/egress/egress-spec.js";
import { optionalText } from "./env-fields.js";

// `host:port` entries, comma-separated: each one checked, every bad one named.
const egressList = z
  .string()
  .default("")
  .transform((text, context) => {
    const parsed = parseEgressList(text);
    if (parsed.ok) return parsed.value;
    for (const problem of parsed.error) context.addIssue({ code: "custom", message: problem });
    return z.NEVER;
  });

// Address ranges, comma-separated: `10.20.0.0/16`, `fd00::/8`, or one address.
const cidrList = z
  .string()
  .default("")
  .transform((text, context) => {
    const entries = text
      .split(/[\s,]+/)
      .map((entry) => entry.trim())
      .filter((entry) => entry.length > 0);
    const bad = entries.filter((entry) => !isCidr(entry));
    if (bad.length === 0) return entries;
    context.addIssue({
      code: "custom",
      message: `${bad.map((entry) => `"${entry}"`).join(", ")} ${bad.length === 1 ? "is not an address range" : "are not address ranges"}; write comma-separated CIDRs such as 10.20.0.0/16 or fd00::/8`,
    });
    return z.NEVER;
  });

// One address, or an address and a prefix length that fits its family.
function isCidr(entry: string): boolean {
  const [address = "", length, ...rest] = entry.split("/");
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (length === undefined) return true;
  return /^\d{1,3}$/.test(length) && Number(length) <= (version === 4 ? 32 : 128);
}

/** The egress firewall of `network: egress` jobs. */
export const EgressEnv = z.object({
  /** Egress firewall (docs/agents.md#network-and-egress): `host:port` entries every `network: egress` job may reach, on top of its profile's. */
  AGENT_EGRESS_ALLOW: egressList,
  /** The egress proxy image: Debian's squid; Foreman mounts its configuration in. */
  EGRESS_PROXY_IMAGE: z.string().trim().min(1).default("foreman-agents/egress-proxy:latest"),
  /** Prefix of the proxy's and the job networks' Docker names: one proxy per prefix (replicas sharing a Docker host each need their own). */
  EGRESS_NAME_PREFIX: z
    .string()
    .regex(EGRESS_PREFIX, { error: "must be lower-case letters, digits, . _ or -, at most 40, e.g. foreman-blue" })
    .default("foreman"),
  /** Host directory for the proxy's configuration and the job policies (default <DATA_DIR>/egress); the Docker daemon must see it at the same path. */
  EGRESS_DIR: optionalText,
  /** Internal address ranges (CIDR) an allowed host name may resolve to (default none: internal addresses are refused). */
  EGRESS_INTERNAL_ALLOW: cidrList,
});

/** The parsed egress settings. */
export type EgressEnv = z.infer<typeof EgressEnv>;
