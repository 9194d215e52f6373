declare module "async-exit-hook" {
  /** Register a hook run at process exit (the package also traps signals and beforeExit). */
  function exitHook(hook: (done?: () => void) => void): void;
  namespace exitHook {
    function hookedEvents(): string[];
    function unhookEvent(event: string): void;
  }
  export default exitHook;
}
