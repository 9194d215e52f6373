import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startTracing, type Tracing } from "../../../src/telemetry/start-tracing.js";
import { mockGitHub, mockLabelToDraftPr } from "../../helpers/github-mock.js";
import { buildIssuesPayload } from "../../helpers/payloads.js";
import { resetTables, useTestDatabase } from "../../helpers/test-database.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "../../helpers/test-foreman.js";

const database = useTestDatabase();
const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let foreman: TestForeman;

beforeAll(() => {
  tracing = startTracing({ exporter, serviceName: "foreman-test" });
});
afterAll(async () => {
  await tracing.shutdown();
});
beforeEach(async () => {
  await resetTables(database);
  exporter.reset();
  foreman = await startTestForeman(database, { env: buildTestEnv({ LOG_LEVEL: "debug" }) });
});
afterEach(async () => {
  await foreman.stop();
});

async function runLabelToDraftPr(deliveryId: string): Promise<void> {
  const github = mockGitHub().token();
  mockLabelToDraftPr(github, 1, 7);
  await foreman.receive(
    "issues",
    buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1, title: "Fix the README" }),
    deliveryId,
  );
  await foreman.settle();
}

function parentOf(span: ReadableSpan, spans: readonly ReadableSpan[]): ReadableSpan | undefined {
  const parentId = span.parentSpanContext?.spanId;
  return spans.find((candidate) => candidate.spanContext().spanId === parentId);
}

/** The span's name, then its parent's, up to the root. */
function listAncestry(span: ReadableSpan, spans: readonly ReadableSpan[]): string[] {
  const names = [span.name];
  for (let parent = parentOf(span, spans); parent; parent = parentOf(parent, spans)) names.push(parent.name);
  return names;
}

describe("traces and log correlation", () => {
  test("a label → draft PR run is one trace: webhook → transition → effect → GitHub request, across the inbox and the outbox", async () => {
    await runLabelToDraftPr("delivery-traced-1");
    const spans = exporter.getFinishedSpans();
    const [task] = await database.sql<{ id: string }[]>`select id from tasks`;

    // One root, the delivery; everything else hangs below it, in its trace.
    const roots = spans.filter((span) => parentOf(span, spans) === undefined);
    expect(roots.map((span) => span.name)).toEqual(["webhook issues.labeled"]);
    expect(roots[0]!.attributes["foreman.delivery_id"]).toBe("delivery-traced-1");
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);

    // The draft PR request, by the path the work took: stored in the inbox, applied, queued in the
    // outbox, executed, its result applied, the next effect queued and executed.
    const pulls = spans.find((span) => span.name === "POST /repos/{owner}/{repo}/pulls")!;
    expect(listAncestry(pulls, spans)).toEqual([
      "POST /repos/{owner}/{repo}/pulls",
      "effect open_draft_pr",
      "transition trigger_checked",
      "effect authorize_trigger",
      "transition issue_labeled",
      "webhook issues.labeled",
    ]);
    expect(pulls.attributes["http.response.status_code"]).toBe(201);

    // Every GitHub request of the run belongs to an effect (the token request to the request that needed it).
    const requests = spans.filter((span) => /^(GET|POST|PATCH|PUT|DELETE) \//.test(span.name));
    expect(requests.length).toBeGreaterThanOrEqual(8);
    for (const request of requests)
      expect(listAncestry(request, spans).some((name) => name.startsWith("effect "))).toBe(true);
    // Every effect and transition names the task and the delivery that caused it.
    const effects = spans.filter((span) => span.name.startsWith("effect "));
    expect(effects.map((span) => span.name)).toEqual([
      "effect authorize_trigger",
      "effect ensure_branch",
      "effect open_draft_pr",
      "effect add_labels",
      "effect upsert_status_comment",
    ]);
    for (const span of [...effects, ...spans.filter((span) => span.name.startsWith("transition "))]) {
      expect(span.attributes["foreman.task_id"]).toBe(task!.id);
    }
    for (const span of effects) expect(span.attributes["foreman.delivery_id"]).toBe("delivery-traced-1");

    // The rows keep what caused them: the inbox row and the effects name the delivery and a span of this trace.
    const traceId = roots[0]!.spanContext().traceId;
    const rows = await database.sql<{ cause_delivery_id: string | null; traceparent: string | null }[]>`
      select cause_delivery_id, traceparent from webhook_deliveries
      union all select cause_delivery_id, traceparent from effects`;
    expect(rows.length).toBeGreaterThan(1);
    for (const row of rows) {
      expect(row.cause_delivery_id).toBe("delivery-traced-1");
      expect(row.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    }
  });

  test("every log line of a delivery's work names the delivery and, once known, the task, each field once", async () => {
    await runLabelToDraftPr("delivery-logged-1");
    const [task] = await database.sql<{ id: string }[]>`select id from tasks`;
    const lines = foreman.logs.map((text) => ({ text, line: JSON.parse(text) as Record<string, unknown> }));
    const ours = lines.filter(({ line }) => line.msg !== "Webhook received");
    const stored = ours.filter(({ line }) => line.msg === "event stored" || line.msg === "webhook stored");
    expect(stored.length).toBe(2);
    for (const { line } of stored) expect(line.deliveryId).toBe("delivery-logged-1");
    // From the first transition on: every line (transitions, effects, GitHub requests) names both.
    const work = ours.filter(({ line }) => line.msg !== "event stored" && line.msg !== "webhook stored");
    expect(work.filter(({ line }) => String(line.msg).startsWith("GitHub request:")).length).toBeGreaterThanOrEqual(8);
    expect(work.filter(({ line }) => line.msg === "effect done").length).toBe(5);
    for (const { line, text } of work) {
      expect(line, text).toMatchObject({ deliveryId: "delivery-logged-1", taskId: task!.id });
      // A child logger that binds taskId itself (the effect runner's) does not get it a second time.
      expect(text.match(/"taskId"/g)?.length, text).toBe(1);
      expect(text.match(/"deliveryId"/g)?.length, text).toBe(1);
    }
  });
});
