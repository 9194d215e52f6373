import { describe, expect, it } from "vitest";
import { parseSlashCommand } from "../../../src/workflow/parse-slash-command.js";

describe("parseSlashCommand", () => {
  it.each([
    ["/foreman retry", { command: "retry" }],
    ["/foreman stop", { command: "stop" }],
    ["/foreman status", { command: "status" }],
    ["/foreman explain", { command: "explain" }],
    ["/Foreman STATUS", { command: "status" }],
    ["   /foreman   explain  \t", { command: "explain" }],
    ["Looks stuck.\r\n/foreman retry\r\nThanks", { command: "retry" }],
    ["/foreman dance", { unknown: "dance" }],
    ["/foreman Dance", { unknown: "dance" }],
  ])("%j → %j", (body, expected) => {
    expect(parseSlashCommand(body)).toEqual(expected);
  });

  it.each([
    ["", "an empty comment"],
    ["Great work!", "no command"],
    ["please run /foreman retry", "a command inside a sentence"],
    ["/foreman retry please", "extra words after the command"],
    ["/foreman", "no word"],
    ["/foremanretry", "no space"],
    ["> /foreman stop", "a quote"],
    ["  > /foreman stop", "an indented quote"],
    ["```\n/foreman stop\n```", "a code fence"],
    ["```sh\n/foreman stop\n````", "a fence closed by a longer fence"],
    ["~~~\n/foreman stop\n~~~", "a tilde fence"],
    ["```\nunclosed\n/foreman stop", "an unclosed fence, which runs to the end"],
    ["````\n```\n/foreman stop\n```\n````", "a shorter fence inside a longer one"],
  ])("%j → null (%s)", (body) => {
    expect(parseSlashCommand(body)).toBeNull();
  });

  it("reads commands after a closed fence or a quote", () => {
    expect(parseSlashCommand("```\n/foreman stop\n```\n/foreman status")).toEqual({ command: "status" });
    expect(parseSlashCommand("> /foreman stop\n\n/foreman explain")).toEqual({ command: "explain" });
  });

  it("does not close a backtick fence with tildes", () => {
    expect(parseSlashCommand("```\n~~~\n/foreman stop\n```")).toBeNull();
  });

  it("takes the first command line", () => {
    expect(parseSlashCommand("/foreman status\n/foreman stop")).toEqual({ command: "status" });
    expect(parseSlashCommand("/foreman dance\n/foreman stop")).toEqual({ unknown: "dance" });
  });
});
