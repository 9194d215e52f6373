/**
 * The OpenAPI 3.1 document of `/api/*`, served at `GET /api/openapi.json`. Tests validate every
 * response they receive against it (test/helpers/api-client.ts), so it says what the routes send.
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: "null" }] });
const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ref("Problem") } },
});
const json = (description: string, schema: Record<string, unknown>, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { "application/json": { schema } },
});
const taskId = { name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } };
const common = {
  "401": problem("No token, an unknown one, or a revoked one."),
  "403": problem("The token's role may not do this."),
  "429": {
    ...problem("Too many requests from this token; retry after `Retry-After` seconds."),
    headers: { "Retry-After": { schema: { type: "integer", minimum: 1 } } },
  },
};
const action = (name: string, what: string) => ({
  post: {
    operationId: `${name}Task`,
    summary: what,
    tags: ["tasks"],
    "x-roles": ["admin", "operator"],
    parameters: [taskId],
    responses: {
      "200": json("The event was applied: the task as it is now.", ref("ActionResult")),
      "202": json("The event waits behind the issue's earlier events; the worker applies it.", ref("ActionResult")),
      "404": problem("No such task."),
      "409": problem("The task is not in a state this action applies to."),
      ...common,
    },
  },
});

const dateTime = { type: "string", format: "date-time" };

/** The document. */
export const OPENAPI_DOCUMENT = Object.freeze({
  openapi: "3.1.0",
  info: {
    title: "Foreman API",
    version: "1.0.0",
    description:
      "Tasks, their jobs and logs, and the runtime settings. Bearer tokens (`foreman tokens create`). Errors are RFC 9457 problem documents.",
  },
  servers: [{ url: "/" }],
  security: [{ bearer: [] }],
  paths: {
    "/api/openapi.json": {
      get: {
        operationId: "getOpenApiDocument",
        summary: "This document.",
        security: [],
        responses: { "200": json("The OpenAPI 3.1 document.", { type: "object", required: ["openapi", "paths"] }) },
      },
    },
    "/api/tasks": {
      get: {
        operationId: "listTasks",
        summary: "Tasks, newest first, filtered and paginated by cursor (Link: rel=next).",
        tags: ["tasks"],
        "x-roles": ["admin", "operator", "auditor", "viewer"],
        parameters: [
          {
            name: "repository",
            in: "query",
            schema: { type: "string", pattern: "^[^/\\s]+/[^/\\s]+$" },
            description: "owner/name",
          },
          { name: "state", in: "query", schema: { type: "string" }, description: "one state or a comma list" },
          { name: "type", in: "query", schema: { type: "string" }, description: "one task type or a comma list" },
          { name: "per_page", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 30 } },
          { name: "cursor", in: "query", schema: { type: "string" }, description: "`nextCursor` of the last page" },
        ],
        responses: {
          "200": json("One page of tasks.", ref("TaskList"), {
            Link: { schema: { type: "string" }, description: '`<…>; rel="next"` when more follow' },
          }),
          "400": problem("A filter or the cursor is malformed."),
          ...common,
        },
      },
      post: {
        operationId: "startTask",
        summary: "Start a task for an issue, as its trigger label would.",
        tags: ["tasks"],
        "x-roles": ["admin", "operator"],
        parameters: [
          {
            name: "Idempotency-Key",
            in: "header",
            schema: { type: "string", minLength: 1, maxLength: 200 },
            description: "The same key within 24 hours returns the same task.",
          },
        ],
        requestBody: { required: true, content: { "application/json": { schema: ref("StartTaskRequest") } } },
        responses: {
          "201": json("The task was started.", ref("ActionResult")),
          "200": json("The same Idempotency-Key was used within 24 hours: its task.", ref("ActionResult")),
          "202": json("The label event waits behind the issue's earlier events.", ref("ActionResult")),
          "400": problem("The body is malformed."),
          "404": problem("The repository is not installed, or GitHub has no such issue."),
          "409": problem("The issue already has an active task, or it is closed."),
          "415": problem("The body is not JSON."),
          "422": problem("The Idempotency-Key was used for another request, or the number is a pull request."),
          "502": problem("GitHub could not be read."),
          ...common,
        },
      },
    },
    "/api/tasks/{id}": {
      get: {
        operationId: "getTask",
        summary: "A task: state, steps, jobs, CI results, links and its timeline.",
        tags: ["tasks"],
        "x-roles": ["admin", "operator", "auditor", "viewer"],
        parameters: [taskId],
        responses: { "200": json("The task.", ref("TaskDetail")), "404": problem("No such task."), ...common },
      },
    },
    "/api/tasks/{id}/stop": action("stop", "Stop the task, as `/foreman stop` would."),
    "/api/tasks/{id}/retry": action("retry", "Retry the task, as `/foreman retry` would."),
    "/api/tasks/{id}/freeze": action("freeze", "Freeze the task, as its freeze label would."),
    "/api/tasks/{id}/unfreeze": action("unfreeze", "Lift the freeze, as removing the freeze label would."),
    "/api/tasks/{id}/jobs/{job}/log": {
      get: {
        operationId: "getJobLog",
        summary:
          "A job's redacted log as JSONL (each line a JobLogLine); `?follow=1` streams its live lines as server-sent events while it runs, then the end.",
        tags: ["tasks"],
        "x-roles": ["admin", "operator", "auditor", "viewer"],
        parameters: [
          taskId,
          { name: "job", in: "path", required: true, schema: { type: "string", format: "uuid" } },
          { name: "follow", in: "query", schema: { type: "string", enum: ["0", "1"] } },
        ],
        responses: {
          "200": {
            description:
              "JSONL, one JobLogLine per line (stored when the job ends: the evidence); with follow=1 `text/event-stream`: while the job runs, its live lines as `line` events (data: a JobLogLine) as they are stored; the stored log's lines instead when the job ended before any live line was sent; then one `end` event (data: the job's status).",
            content: {
              "application/x-ndjson": { schema: { type: "string" }, "x-line-schema": ref("JobLogLine") },
              "text/event-stream": { schema: { type: "string" } },
            },
          },
          "202": json(
            "The job has not ended; its log is stored when it does (follow=1 streams its live lines meanwhile).",
            ref("Pending"),
          ),
          "404": problem("No such job on this task."),
          ...common,
        },
      },
    },
    "/api/settings": {
      get: {
        operationId: "getSettings",
        summary: "The global pause and the job limits now.",
        tags: ["settings"],
        "x-roles": ["admin", "operator", "auditor", "viewer"],
        responses: { "200": json("The settings.", ref("Settings")), ...common },
      },
      put: {
        operationId: "putSettings",
        summary:
          "Change the pause or a job limit (null: back to the environment's value); each change is a compliance record.",
        tags: ["settings"],
        "x-roles": ["admin", "operator"],
        requestBody: { required: true, content: { "application/json": { schema: ref("SettingsChange") } } },
        responses: {
          "200": json("The settings after the change.", ref("Settings")),
          "400": problem("The body is malformed."),
          "415": problem("The body is not JSON."),
          ...common,
        },
      },
    },
  },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "fmn_… API token" } },
    schemas: {
      Problem: {
        type: "object",
        required: ["type", "title", "status", "detail"],
        properties: {
          type: { type: "string", format: "uri" },
          title: { type: "string" },
          status: { type: "integer", minimum: 400, maximum: 599 },
          detail: { type: "string" },
        },
      },
      Reason: nullable({
        type: "object",
        required: ["code", "message"],
        properties: { code: { type: "string" }, message: { type: "string" } },
      }),
      TaskSummary: {
        type: "object",
        required: [
          "id",
          "repository",
          "issueNumber",
          "issueTitle",
          "type",
          "state",
          "resumeState",
          "frozenBy",
          "triggerLabel",
          "triggeredBy",
          "triggerVerdict",
          "step",
          "branch",
          "prNumber",
          "prUrl",
          "reason",
          "createdAt",
          "updatedAt",
        ],
        properties: {
          id: { type: "string", format: "uuid" },
          repository: { type: "string" },
          issueNumber: { type: "integer", minimum: 1 },
          issueTitle: { type: "string" },
          type: { type: "string" },
          state: { type: "string" },
          resumeState: nullable({ type: "string" }),
          frozenBy: nullable({ type: "string" }),
          triggerLabel: { type: "string" },
          triggeredBy: { type: "string" },
          triggerVerdict: { enum: ["pending", "not_a_trigger", "refused", "authorized"] },
          step: nullable({ type: "string" }),
          branch: nullable({ type: "string" }),
          prNumber: nullable({ type: "integer" }),
          prUrl: nullable({ type: "string", format: "uri" }),
          reason: ref("Reason"),
          createdAt: dateTime,
          updatedAt: dateTime,
        },
      },
      TaskList: {
        type: "object",
        additionalProperties: false,
        required: ["tasks", "nextCursor"],
        properties: {
          tasks: { type: "array", items: { allOf: [ref("TaskSummary")], unevaluatedProperties: false } },
          nextCursor: nullable({ type: "string" }),
        },
      },
      Step: {
        type: "object",
        required: ["role", "purpose", "status", "jobId", "commitSha", "summary"],
        properties: {
          role: { type: "string" },
          purpose: { type: "string" },
          status: { enum: ["queued", "running", "succeeded", "failed", "stopped"] },
          jobId: { type: "string" },
          commitSha: nullable({ type: "string" }),
          summary: nullable({ type: "string" }),
        },
      },
      Job: {
        type: "object",
        required: [
          "id",
          "role",
          "profile",
          "status",
          "attempt",
          "createdAt",
          "startedAt",
          "finishedAt",
          "failureCode",
          "log",
        ],
        properties: {
          id: { type: "string", format: "uuid" },
          role: { type: "string" },
          profile: { type: "string" },
          status: { enum: ["queued", "running", "succeeded", "failed", "cancelled"] },
          attempt: { type: "integer", minimum: 0 },
          createdAt: dateTime,
          startedAt: nullable(dateTime),
          finishedAt: nullable(dateTime),
          failureCode: nullable({ type: "string" }),
          log: { type: "string", description: "The API path of the job's log" },
        },
      },
      CiResult: {
        type: "object",
        required: ["suiteId", "headSha", "app", "conclusion", "receivedAt"],
        properties: {
          suiteId: { type: "integer" },
          headSha: { type: "string" },
          headBranch: nullable({ type: "string" }),
          app: { type: "string" },
          conclusion: { type: "string" },
          failures: {},
          receivedAt: { type: "string" },
        },
      },
      TimelineEntry: {
        type: "object",
        additionalProperties: false,
        required: ["seq", "at", "kind", "actor", "payload"],
        properties: {
          seq: { type: "integer", minimum: 1 },
          at: dateTime,
          kind: { type: "string" },
          actor: { type: "string" },
          payload: { type: "object" },
        },
      },
      TaskDetail: {
        allOf: [
          ref("TaskSummary"),
          {
            type: "object",
            required: ["steps", "jobs", "ciResults", "links", "timeline"],
            properties: {
              steps: { type: "array", items: ref("Step") },
              jobs: { type: "array", items: ref("Job") },
              ciResults: { type: "array", items: ref("CiResult") },
              links: {
                type: "object",
                required: ["self", "issue", "pullRequest", "evidence"],
                properties: {
                  self: { type: "string" },
                  issue: { type: "string", format: "uri" },
                  pullRequest: nullable({ type: "string", format: "uri" }),
                  evidence: { type: "string" },
                },
              },
              timeline: { type: "array", items: ref("TimelineEntry") },
            },
          },
        ],
        unevaluatedProperties: false,
      },
      ActionResult: {
        type: "object",
        additionalProperties: false,
        required: ["outcome", "task"],
        properties: {
          outcome: { enum: ["applied", "queued", "replayed"] },
          task: nullable(ref("TaskSummary")),
        },
      },
      StartTaskRequest: {
        type: "object",
        additionalProperties: false,
        required: ["repository", "issue"],
        properties: {
          repository: { type: "string", pattern: "^[^/\\s]+/[^/\\s]+$" },
          issue: { type: "integer", minimum: 1 },
          label: { type: "string", default: "agent:ready" },
        },
      },
      JobLogLine: {
        type: "object",
        required: ["t", "stream", "line"],
        properties: {
          t: { type: "string", description: "The engine's timestamp of the line (ISO 8601), or when Foreman read it" },
          stream: { type: "string", enum: ["stdout", "stderr", "system"] },
          line: { type: "string", description: "The line, redacted" },
        },
      },
      Pending: {
        type: "object",
        required: ["status"],
        properties: { status: { type: "string" }, detail: { type: "string" } },
      },
      Limit: {
        type: "object",
        additionalProperties: false,
        required: ["value", "environment", "setBy", "setAt"],
        properties: {
          value: { type: "integer", minimum: 1 },
          environment: { type: "integer", minimum: 1 },
          setBy: nullable({ type: "string" }),
          setAt: nullable(dateTime),
        },
      },
      Settings: {
        type: "object",
        additionalProperties: false,
        required: ["paused", "pausedByEnvironment", "pause", "maxConcurrentJobs", "maxJobsPerRepo"],
        properties: {
          paused: { type: "boolean" },
          pausedByEnvironment: { type: "boolean" },
          pause: nullable({
            type: "object",
            required: ["reason", "by", "at"],
            properties: { reason: nullable({ type: "string" }), by: { type: "string" }, at: dateTime },
          }),
          maxConcurrentJobs: ref("Limit"),
          maxJobsPerRepo: ref("Limit"),
        },
      },
      SettingsChange: {
        type: "object",
        additionalProperties: false,
        minProperties: 1,
        properties: {
          paused: { type: "boolean" },
          reason: nullable({ type: "string", maxLength: 500 }),
          maxConcurrentJobs: nullable({ type: "integer", minimum: 1, maximum: 1000 }),
          maxJobsPerRepo: nullable({ type: "integer", minimum: 1, maximum: 1000 }),
        },
      },
    },
  },
});
