import { DockerRunner, dockerOptionsFromHost } from "../../../src/agents/docker-runner.js";

/** The image scripts/ci/setup-docker.sh builds offline: busybox only, no /etc/passwd. */
export const TEST_IMAGE = "foreman-test/busybox:latest";

/** A runner on the daemon the environment points at (DOCKER_HOST or the default socket). */
export const testRunner = new DockerRunner(dockerOptionsFromHost(process.env.DOCKER_HOST));

/**
 * The container tests run on a real Docker engine, always: a sandbox test that skips itself would
 * hide a regression. Importing this module checks the daemon and the test image, and fails the
 * test file with what to do when either is missing.
 */
export async function requireDocker(): Promise<void> {
  if (!(await testRunner.ping())) {
    throw new Error(
      "Docker is not reachable (DOCKER_HOST or /var/run/docker.sock): the container tests need a real daemon. " +
        "Run scripts/ci/setup-docker.sh (as root) to start one and build the test image, or point DOCKER_HOST at one.",
    );
  }
  if (!(await testRunner.hasImage(TEST_IMAGE))) {
    throw new Error(
      `The Docker daemon is up but ${TEST_IMAGE} is missing: run scripts/ci/setup-docker.sh (as root) to build it.`,
    );
  }
}

await requireDocker();
