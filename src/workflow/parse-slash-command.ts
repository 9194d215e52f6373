import type { SlashCommand } from "./events.js";

/** The commands `/foreman <word>` may name. */
const COMMANDS: ReadonlySet<string> = new Set<SlashCommand>(["retry", "stop", "status", "explain"]);

const COMMAND_LINE = /^\/foreman[ \t]+(\S+)$/i;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** What a comment asks of Foreman: a known command, an unknown word, or nothing. */
export type ParsedSlashCommand = { command: SlashCommand } | { unknown: string };

/**
 * Find the comment's first `/foreman <word>` line, case-insensitive. Lines inside a fenced code
 * block or a `>` quote are not commands: they show or cite one (a quoted reply must not re-run it).
 */
export function parseSlashCommand(body: string): ParsedSlashCommand | null {
  let fence: string | null = null;
  for (const line of body.split(/\r?\n/)) {
    const marker = FENCE.exec(line)?.[1];
    if (fence !== null) {
      // A fence closes with the same character, at least as long, and nothing after it.
      if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = null;
      continue;
    }
    if (marker) {
      fence = marker;
      continue;
    }
    const text = line.trim();
    if (text.startsWith(">")) continue;
    const word = COMMAND_LINE.exec(text)?.[1]?.toLowerCase();
    if (word === undefined) continue;
    return COMMANDS.has(word) ? { command: word as SlashCommand } : { unknown: word };
  }
  return null;
}
