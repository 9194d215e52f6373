import { expect } from "vitest";
import { toolResults, userTexts } from "../../support/model-server/inspect.mjs";
import type { RecordedRequest } from "../../support/model-server/server.mjs";
import type { CliWorkspace } from "../../support/model-server/run-cli.js";
import { readFile } from "node:fs/promises";
import path from "node:path";

/** The prompt the CLIs get (Foreman would render it from prompts/). */
export const PROMPT = "Foreman task 42: in this repository, fix the greeting in a.txt, add new.txt and remove old.txt.";

/** The repository the CLIs start in. */
export const FILES = { "a.txt": "hello\nworld\n", "old.txt": "obsolete\n", "keep.txt": "untouched\n" };

/** The final answer the scripted model gives. */
export const FINAL_ANSWER = "Done: edited a.txt, created new.txt, deleted old.txt.";

/** Reads a.txt, edits it, creates new.txt, deletes old.txt, answers; usage adds up to 6000 in, 130 out. */
export const SCENARIO = {
  turns: [
    { tool: "read", path: "a.txt", usage: { input: 1000, output: 50 } },
    {
      tool: "edit",
      path: "a.txt",
      old: "world",
      new: "there",
      say: "Editing a.txt.",
      usage: { input: 1100, output: 20 },
    },
    { tool: "write", path: "new.txt", content: "created by the model\n", usage: { input: 1200, output: 20 } },
    { tool: "delete", path: "old.txt", usage: { input: 1300, output: 10 } },
    { say: FINAL_ANSWER, usage: { input: 1400, output: 30 } },
  ],
};

/** The usage the scenario reports, summed over its turns. */
export const TOTAL_USAGE = { input: 6000, output: 130 };

/**
 * Asserts the scenario was played in full and in order: every main request took the next turn,
 * nothing else took one, the prompt arrived, each tool call's result came back (the read one with
 * the file's text), and the repository holds the edited, created and remaining files.
 */
export async function expectScenarioPlayed(
  requests: RecordedRequest[],
  workspace: CliWorkspace,
  toolNames: (string | null)[],
): Promise<RecordedRequest[]> {
  expect(requests.filter((request) => request.outcome !== "answered")).toEqual([]);
  const main = requests.filter((request) => request.kind === "main");
  expect(main.map((request) => request.turn)).toEqual([0, 1, 2, 3, 4]);
  expect(requests.filter((request) => request.kind !== "main").map((request) => request.turn)).toEqual(
    requests.filter((request) => request.kind !== "main").map(() => null),
  );
  expect(main.map((request) => request.call?.name ?? null)).toEqual(toolNames);
  expect(userTexts(main[0]!).join("\n")).toContain(PROMPT);
  for (let turn = 0; turn < 4; turn += 1) {
    const callId = main[turn]!.call!.id;
    const result = toolResults(main[turn + 1]!).find((entry) => entry.id === callId);
    expect(result, `the result of turn ${turn}'s ${main[turn]!.call!.name} call went back`).toBeDefined();
    expect(result!.isError, `turn ${turn}'s result: ${result!.output}`).toBe(false);
    if (turn === 0) expect(result!.output).toContain("world");
  }
  expect(await workspace.files()).toEqual(["a.txt", "keep.txt", "new.txt"]);
  const read = (name: string) => readFile(path.join(workspace.repo, name), "utf8");
  expect(await read("a.txt")).toBe("hello\nthere\n");
  expect(await read("new.txt")).toBe("created by the model\n");
  expect(await read("keep.txt")).toBe("untouched\n");
  return main;
}
