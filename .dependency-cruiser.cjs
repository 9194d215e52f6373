/**
 * Foreman's layers, checked on every `npm run lint` (docs/architecture.md shows the graph).
 * Floors, top to bottom; an import may only point down or sideways within its folder:
 *
 *   entry points   src/main.ts, src/index.ts, src/cli/
 *   http           src/http/, src/ui/  (routes on Probot's server; ui/ is the dashboard)
 *   metrics        src/metrics/        (the Prometheus registry: listens to src/events, reads src/db)
 *   engine         src/engine/         (runs the workflow: inbox, outbox, job runner)
 *   adapters       src/webhooks/ (GitHub → events), src/github/ and src/agents/ (Foreman → the world),
 *                  src/compliance/, src/summary/ (daily summaries), src/prompts/, src/config/
 *   storage        src/db/
 *   leaves         src/workflow/ (the pure state machine), src/chain/ (hash chain and checkpoint
 *                  crypto), src/resilience/ (timeouts, circuit breakers, the error mapper), src/logging/,
 *                  src/events/ (the in-process events every layer emits and src/metrics/ hears),
 *                  src/telemetry/ (trace spans and the cause a stored row keeps)
 */
const LEAVES = "^src/(workflow|chain|resilience|logging|events|telemetry)/";

module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment:
        "Two modules that import each other are one module in two files: merge them or move the shared part down.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "workflow-is-pure",
      severity: "error",
      comment:
        "src/workflow/ decides from data alone: no I/O, no clock, no database, no other Foreman folder (AGENTS.md rule 1).",
      from: { path: "^src/workflow/" },
      to: { pathNot: ["^src/workflow/", "^node_modules/@sindresorhus/slugify/"] },
    },
    {
      name: "chain-is-a-pure-leaf",
      severity: "error",
      comment: "The hash chain and checkpoint crypto are pure: canonical JSON and node:crypto only.",
      from: { path: "^src/chain/" },
      to: { pathNot: ["^src/chain/", "^node_modules/canonicalize/", "^crypto$", "^node:crypto$"] },
    },
    {
      name: "resilience-is-a-leaf",
      severity: "error",
      comment: "Timeouts, circuit breakers and the error mapper know nothing of Foreman's other folders.",
      from: { path: "^src/resilience/" },
      to: { path: "^src/", pathNot: ["^src/resilience/", "^src/logging/", "^src/events/"] },
    },
    {
      name: "events-is-a-leaf",
      severity: "error",
      comment: "Any layer emits Foreman's events; the emitter itself knows no other folder.",
      from: { path: "^src/events/" },
      to: { path: "^src/", pathNot: "^src/events/" },
    },
    {
      name: "metrics-only-listen-and-read",
      severity: "error",
      comment:
        "src/metrics/ hears src/events/ and reads the database's figures; it drives nothing (no engine, GitHub, agents, compliance).",
      from: { path: "^src/metrics/" },
      to: { path: "^src/", pathNot: ["^src/metrics/", "^src/db/", LEAVES] },
    },
    {
      name: "business-code-does-not-import-metrics",
      severity: "error",
      comment:
        "Business code emits events (src/events/); only the composition root and the /metrics route know the registry.",
      from: { path: "^src/", pathNot: "^src/(metrics/|http/metrics-route\\.ts$|main\\.ts$)" },
      to: { path: "^src/metrics/" },
    },
    {
      name: "logging-is-a-leaf",
      severity: "error",
      from: { path: "^src/logging/" },
      to: { path: "^src/", pathNot: "^src/logging/" },
    },
    {
      name: "telemetry-is-a-leaf",
      severity: "error",
      comment:
        "Tracing is a few wrappers over the OpenTelemetry API used at the boundaries; it knows only the log correlation.",
      from: { path: "^src/telemetry/" },
      to: { path: "^src/", pathNot: ["^src/telemetry/", "^src/logging/"] },
    },
    {
      name: "db-stays-low",
      severity: "error",
      comment: "Storage knows the workflow's types and the chain's hash, nothing above it.",
      from: { path: "^src/db/" },
      to: { path: "^src/", pathNot: ["^src/db/", LEAVES] },
    },
    {
      name: "adapters-never-import-the-engine",
      severity: "error",
      comment:
        "Adapters (github, agents, webhooks, compliance, summary, prompts, config) are called by the engine; they never call it.",
      from: { path: "^src/(github|agents|webhooks|compliance|summary|prompts|config)/" },
      to: { path: "^src/(engine|http|cli)/|^src/(main|index)\\.ts$" },
    },
    {
      name: "outbound-adapters-stay-apart",
      severity: "error",
      comment:
        "GitHub calls and agent containers are separate adapters: neither reaches into the other, the database or the compliance trail.",
      from: { path: "^src/(github|agents)/" },
      // agents/changes.ts is plain data (the change set an agent made), which the push takes.
      to: { path: "^src/(db|webhooks|compliance|github|agents)/", pathNot: ["^src/$1/", "^src/agents/changes\\.ts$"] },
    },
    {
      name: "egress-rules-are-pure",
      severity: "error",
      comment:
        "The egress firewall's rules (names and specs, squid's configuration, the policy, log parsing) are pure; " +
        "only src/agents/egress/docker-egress.ts and its docker-egress-*.ts modules talk to Docker and the file system.",
      from: { path: "^src/agents/egress/", pathNot: "^src/agents/egress/docker-egress[a-z-]*\\.ts$" },
      to: {
        dependencyTypesNot: ["type-only"],
        path: [
          "^(node:)?(fs|fs/promises|child_process|net|http|https|dgram|os|dns)$",
          "^node_modules/dockerode/",
          "^src/agents/(docker-(runner|reaper)|egress/docker-egress[a-z-]*)\\.ts$",
        ],
      },
    },
    {
      name: "kubernetes-specs-are-pure",
      severity: "error",
      comment:
        "The Kubernetes Job's objects are decided from data (src/agents/kubernetes/*-spec.ts); only the runner " +
        "talks to the Kubernetes API and only the archive store touches files.",
      from: { path: "^src/agents/kubernetes/(kubernetes-job-spec|read-container-spec)\\.ts$" },
      to: {
        dependencyTypesNot: ["type-only"],
        path: [
          "^(node:)?(fs|fs/promises|child_process|net|http|https|dgram|os|dns)$",
          "(^|/)node_modules/@kubernetes/client-node/",
          "^node_modules/dockerode/",
        ],
      },
    },
    {
      name: "only-the-kubernetes-runner-uses-the-kubernetes-client",
      severity: "error",
      comment: "The Kubernetes API is one adapter: src/agents/kubernetes/, built by the composition root.",
      from: { path: "^src/", pathNot: ["^src/agents/kubernetes/", "^src/main\\.ts$"] },
      to: { dependencyTypesNot: ["type-only"], path: "(^|/)node_modules/@kubernetes/client-node/" },
    },
    {
      name: "compliance-does-not-read-the-environment",
      severity: "error",
      comment: "The composition root turns the environment into settings; compliance and the summaries take settings.",
      from: { path: "^src/(compliance|summary)/" },
      to: { path: "^src/(config|webhooks|github|agents|prompts)/" },
    },
    {
      name: "config-stays-below-its-users",
      severity: "error",
      from: { path: "^src/config/" },
      to: { path: "^src/(db|webhooks|github|compliance|summary|prompts)/" },
    },
    {
      name: "entry-points-are-not-imported",
      severity: "error",
      comment: "Nothing but an entry point imports an entry point.",
      from: { path: "^src/", pathNot: "^src/(cli/|main\\.ts$|index\\.ts$)" },
      to: { path: "^src/(cli/|main\\.ts$|index\\.ts$)" },
    },
    {
      name: "ui-reads-storage-not-the-engine",
      severity: "error",
      comment:
        "The dashboard reads through src/db/queries and src/compliance; it starts no work (no engine, no GitHub App client, no agents) and no other route's code.",
      from: { path: "^src/ui/" },
      to: { path: "^src/(engine|http|cli|webhooks|github|agents|prompts)/|^src/(main|index)\\.ts$" },
    },
    {
      name: "only-the-composition-root-imports-ui",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(ui/|main\\.ts$)" },
      to: { path: "^src/ui/" },
    },
    {
      name: "engine-does-not-import-http",
      severity: "error",
      from: { path: "^src/engine/" },
      to: { path: "^src/http/" },
    },
    {
      name: "http-api-is-only-mounted",
      severity: "error",
      comment:
        "src/http/api/ (the REST API) is mounted by the composition root only; the rest of src/http does not reach into it, and it acts through src/engine/operator-actions.ts.",
      from: { path: "^src/", pathNot: ["^src/http/api/", "^src/main\\.ts$"] },
      to: { path: "^src/http/api/" },
    },
    {
      name: "no-unresolvable-imports",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
      extensions: [".ts", ".js", ".json"],
    },
    reporterOptions: {
      dot: {
        collapsePattern:
          "^src/(workflow|chain|resilience|logging|events|telemetry|metrics|db|webhooks|github|agents|compliance|summary|prompts|config|engine|http|ui|cli)/",
      },
    },
  },
};
