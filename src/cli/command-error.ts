/** A command cannot run because of how it was called or configured: shown as its message alone (exit 2). */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandError";
  }
}
