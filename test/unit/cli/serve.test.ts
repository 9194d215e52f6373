import { describe, expect, it } from "vitest";
import { buildSetupPageEnv } from "../../../src/cli/serve.js";
import { parseEnv } from "../../../src/config/env.js";

// Without APP_ID, `foreman serve` runs Probot's setup page: whoever opens it first registers the
// GitHub App and gets its credentials, so it listens only on this machine unless HOST says otherwise.

describe("the setup page's address", () => {
  it("is 127.0.0.1 when HOST is not set", () => {
    expect(buildSetupPageEnv(parseEnv({ PORT: "3000" }))).toEqual({ HOST: "127.0.0.1", PORT: "3000" });
  });

  it("is HOST when it is set", () => {
    expect(buildSetupPageEnv(parseEnv({ PORT: "3000", HOST: "0.0.0.0" }))).toEqual({ HOST: "0.0.0.0", PORT: "3000" });
  });
});
