import { testRunner } from "./docker-available.js";

/**
 * The egress proxy image the firewall tests run: EGRESS_TEST_IMAGE, else the development image that
 * scripts/ci/build-egress-test-image.sh builds (Debian's squid, nothing of Foreman's in it).
 */
export const EGRESS_TEST_IMAGE = process.env.EGRESS_TEST_IMAGE ?? "foreman-egresstest/squid:dev";

/** Fails the importing test file, saying what to do, when the proxy image is missing (never skips). */
export async function requireEgressImage(): Promise<void> {
  if (!(await testRunner.hasImage(EGRESS_TEST_IMAGE))) {
    throw new Error(
      `The Docker daemon is up but the egress proxy image ${EGRESS_TEST_IMAGE} is missing: run ` +
        "scripts/ci/build-egress-test-image.sh (as root; it needs Debian's mirror), or set EGRESS_TEST_IMAGE to an image " +
        "with Debian's squid (such as foreman-agents/egress-proxy:latest).",
    );
  }
}

await requireEgressImage();
