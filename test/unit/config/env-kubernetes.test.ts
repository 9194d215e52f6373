import { describe, expect, test } from "vitest";
import { parseEnv, readKubernetesSettings } from "../../../src/config/env.js";

function refusal(source: Record<string, string>): string {
  try {
    parseEnv(source);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected parseEnv to refuse");
}

describe("RUNNER=kubernetes", () => {
  test("docker stays the default runner", () => {
    expect(parseEnv({}).RUNNER).toBe("docker");
  });

  test("needs the namespace and Foreman's in-cluster URL", () => {
    const message = refusal({ RUNNER: "kubernetes" });
    expect(message).toContain("KUBERNETES_NAMESPACE: RUNNER=kubernetes needs it");
    expect(message).toContain("KUBERNETES_FOREMAN_URL: RUNNER=kubernetes needs it");
  });

  test("reads the runner's settings, selectors as labels and the proxy's port from its URL", () => {
    const env = parseEnv({
      RUNNER: "kubernetes",
      KUBERNETES_NAMESPACE: "foreman-agents",
      KUBERNETES_FOREMAN_URL: "http://10.0.0.5:3000",
      KUBERNETES_EGRESS_PROXY_URL: "http://10.96.0.20:3129",
      KUBERNETES_FOREMAN_SELECTOR: "app.kubernetes.io/name=foreman, app.kubernetes.io/instance=prod",
    });
    expect(readKubernetesSettings(env)).toEqual({
      job: {
        namespace: "foreman-agents",
        foremanUrl: "http://10.0.0.5:3000",
        foremanSelector: { "app.kubernetes.io/name": "foreman", "app.kubernetes.io/instance": "prod" },
        foremanPort: 3000,
        egressProxySelector: { "app.kubernetes.io/name": "foreman-egress-proxy" },
        egressProxyPort: 3129,
        helperImage: "busybox:1.36",
        uploadGraceSeconds: 30,
        workspaceMaxMb: 4096,
      },
      egressProxyUrl: "http://10.96.0.20:3129",
    });
  });

  test("refuses a selector that is not key=value labels", () => {
    expect(refusal({ KUBERNETES_FOREMAN_SELECTOR: "foreman" })).toContain("KUBERNETES_FOREMAN_SELECTOR");
  });
});
