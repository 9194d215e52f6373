import { testRunner } from "./docker-available.js";

/**
 * The egress proxy image the firewall tests run: the one Foreman ships (`npm run images:build`:
 * Debian's squid, nothing of Foreman's in it), or EGRESS_TEST_IMAGE.
 */
export const EGRESS_TEST_IMAGE = process.env.EGRESS_TEST_IMAGE ?? "foreman-agents/egress-proxy:latest";

/** Fails the importing test file, saying what to do, when the proxy image is missing (never skips). */
export async function requireEgressImage(): Promise<void> {
  if (!(await testRunner.hasImage(EGRESS_TEST_IMAGE))) {
    throw new Error(
      `The Docker daemon is up but the egress proxy image ${EGRESS_TEST_IMAGE} is missing: run ` +
        "`sudo npm run images:build` (it needs Debian's mirror the first time), or set EGRESS_TEST_IMAGE to an image " +
        "with Debian's squid at /usr/sbin/squid and a proxy user.",
    );
  }
}

await requireEgressImage();
