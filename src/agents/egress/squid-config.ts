/**
 * The egress proxy's files, rendered from code so that they live in the repository and not in the
 * image: squid's configuration, the policy helper squid asks about every request, and the per-job
 * policy files the helper reads. Pure: strings in, strings out. The runner writes them into the
 * host directory it bind-mounts into the proxy (read-only) at `EGRESS_PROXY_PATHS.root`.
 *
 * How a request is judged (squid's `http_access`, in order):
 *   1. the helper (`external_acl_type`, no result cache) finds the policy of the job network the
 *      request arrived on, by the proxy's own address there (`%>la`), and answers OK only for a
 *      `host:port` the policy lists; it tags the request with the job id (`%et` in the log);
 *   2. a request that is not CONNECT must be plain `http://`;
 *   3. the destination's addresses must not be internal (loopback, private, link-local, metadata,
 *      multicast, reserved), unless the operator listed the range (EGRESS_INTERNAL_ALLOW);
 *   4. everything else is refused.
 */

/** Paths inside the proxy container. */
export const EGRESS_PROXY_PATHS = Object.freeze({
  root: "/etc/foreman-egress",
  config: "/etc/foreman-egress/squid.conf",
  helper: "/etc/foreman-egress/policy-helper.sh",
  policies: "/etc/foreman-egress/policies",
  squid: "/usr/sbin/squid",
} as const);

/** The proxy's port on every network it is attached to. */
export const EGRESS_PROXY_PORT = 3128;

/** First word of the proxy's access-log lines (stdout) and of the helper's check lines (stderr). */
export const EGRESS_LOG_TAGS = Object.freeze({ access: "foreman-egress", check: "foreman-egress-check" } as const);

/** What squid prints once it accepts connections: the proxy is ready. */
export const SQUID_READY_LINE = "Accepting HTTP Socket connections";

/**
 * Destinations no job reaches, even through a name it is allowed: this host and its containers,
 * private networks, link-local (cloud metadata at 169.254.169.254), shared and reserved ranges.
 */
export const INTERNAL_DESTINATIONS = Object.freeze([
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.88.99.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "240.0.0.0/4",
  "::/128",
  "::1/128",
  "100::/64",
  "2001:db8::/32",
  "fc00::/7",
  "fe80::/10",
  "ff00::/8",
] as const);

/** What the rendered configuration depends on. */
export interface SquidConfigOptions {
  /** Address ranges (CIDR) an allowed name may resolve to although they are internal (EGRESS_INTERNAL_ALLOW). */
  readonly internalAllow: readonly string[];
}

/** Renders squid.conf for the egress proxy. */
export function renderSquidConfig(options: SquidConfigOptions): string {
  const internalAllow = options.internalAllow.length > 0 ? options.internalAllow.join(" ") : null;
  const lines = [
    "# Foreman's egress proxy. Rendered by src/agents/egress/squid-config.ts; do not edit by hand.",
    `http_port ${EGRESS_PROXY_PORT}`,
    "pid_filename none",
    "cache deny all",
    "cache_mem 8 MB",
    "digest_generation off",
    "pinger_enable off",
    "icp_port 0",
    "htcp_port 0",
    "visible_hostname foreman-egress",
    "httpd_suppress_version_string on",
    "via off",
    "forwarded_for delete",
    "shutdown_lifetime 1 seconds",
    "coredump_dir /tmp",
    "logfile_rotate 0",
    "cache_log /dev/stderr",
    "",
    "# One line per request on stdout; src/agents/egress/access-log.ts parses it (keep the two in step).",
    `logformat foreman_egress ${EGRESS_LOG_TAGS.access} v1 %master_xaction %tS %tr %#et %#ea %>la %>a %#>rm %#>rs %#>rd %>rP %>Hs %Ss %>st %<st`,
    "access_log stdio:/dev/stdout foreman_egress",
    "",
    "# The job's policy, found by the proxy's address on the job's network. No result cache (ttl=0):",
    "# the same address can belong to another job's network later.",
    `external_acl_type foreman_policy ttl=0 negative_ttl=0 children-max=16 children-startup=2 %master_xaction %>la %>a %>rd %>rP %>rm /bin/sh ${EGRESS_PROXY_PATHS.helper} ${EGRESS_PROXY_PATHS.policies}`,
    "acl foreman_policy external foreman_policy",
    "acl CONNECT method CONNECT",
    "acl foreman_http proto HTTP",
    `acl foreman_internal_dst dst ${INTERNAL_DESTINATIONS.join(" ")}`,
    ...(internalAllow === null ? [] : [`acl foreman_internal_allowed dst ${internalAllow}`]),
    "",
    "http_access deny !foreman_policy",
    "http_access deny !CONNECT !foreman_http",
    internalAllow === null
      ? "http_access deny foreman_internal_dst"
      : "http_access deny foreman_internal_dst !foreman_internal_allowed",
    "http_access allow foreman_policy",
    "http_access deny all",
    "",
  ];
  return lines.join("\n");
}

/**
 * The policy helper, a POSIX sh script (dash or bash; no other program). One request a line on
 * stdin: `<xaction> <proxy address> <client address> <host> <port> <method>`; one answer a line:
 * `OK tag=<job> log=allowed` or `ERR [tag=<job>] log=<reason>`. It also writes a check line per
 * request on stderr (the proxy's log), so the runner knows which requests to wait for.
 * Matching is `matchesEgressRule` (egress-rule.ts): exact name and port, or `*.name` for subdomains.
 */
export function renderPolicyHelper(): string {
  return `#!/bin/sh
# Foreman's egress policy helper for squid. Rendered by src/agents/egress/squid-config.ts.
policies="$1"
while read -r xaction local client host port method rest; do
  job=-
  reason=not-allowed
  file=
  case $local in
    '' | *[!0-9a-fA-F.:]*) ;;
    *) file="$policies/$local.policy" ;;
  esac
  if [ -z "$file" ] || [ ! -f "$file" ]; then
    reason=no-policy
  else
    case $host in
      *:* | *%* | *'['*) reason=ip-literal ;;
      *[!a-z0-9.-]*) reason=invalid-host ;;
      *[!0-9.]*) ;;
      *) reason=ip-literal ;;
    esac
    while read -r kind name allowed_port extra; do
      case $kind in
        job) job=$name ;;
        allow)
          [ "$reason" = not-allowed ] || continue
          [ "$allowed_port" = "$port" ] || continue
          case $name in
            '*.'*)
              suffix=\${name#'*'}
              case $host in *"$suffix") reason=allowed ;; esac
              ;;
            *) [ "$name" = "$host" ] && reason=allowed ;;
          esac
          ;;
      esac
    done <"$file"
  fi
  echo "${EGRESS_LOG_TAGS.check} v1 $xaction $job $local $host $port $reason" >&2
  if [ "$reason" = allowed ]; then
    echo "OK tag=$job log=allowed"
  elif [ "$job" = - ]; then
    echo "ERR log=$reason"
  else
    echo "ERR tag=$job log=$reason"
  fi
done
`;
}

/** Job ids as they may appear in a policy file and a log tag (no spaces, quotes or escapes). */
export const POLICY_JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Renders one job's policy file: its id, then one `allow <host> <port>` line per rule. */
export function renderPolicyFile(jobId: string, rules: readonly { host: string; port: number }[]): string {
  if (!POLICY_JOB_ID.test(jobId)) throw new Error(`job id "${jobId}" cannot be written into an egress policy`);
  return [
    "# Foreman egress policy v1",
    `job ${jobId}`,
    ...rules.map((rule) => `allow ${rule.host} ${rule.port}`),
    "",
  ].join("\n");
}

/** The policy file's name for the proxy's address on a job network (the helper looks it up by that address). */
export function buildPolicyFileName(proxyAddress: string): string {
  if (!/^[0-9a-fA-F.:]+$/.test(proxyAddress)) throw new Error(`"${proxyAddress}" is not an IP address`);
  return `${proxyAddress}.policy`;
}

/** Reads the job id back from a policy file's text (null when it has none). */
export function readPolicyJobId(text: string): string | null {
  const match = /^job (\S+)$/m.exec(text);
  return match?.[1] ?? null;
}
