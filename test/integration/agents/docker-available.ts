import { DockerRunner, dockerOptionsFromHost } from "../../../src/agents/docker-runner.js";

/** The image scripts/ci/setup-docker.sh builds offline: busybox only, no /etc/passwd. */
export const TEST_IMAGE = "foreman-test/busybox:latest";

/** A runner on the daemon the environment points at (DOCKER_HOST or the default socket). */
export const testRunner = new DockerRunner(dockerOptionsFromHost(process.env.DOCKER_HOST));

/**
 * Whether Docker tests can run here. Without a daemon they are skipped on a laptop, but in CI
 * (`CI=true`) a missing daemon is a failure: a skipped sandbox test there would hide a regression.
 */
export const dockerAvailable: boolean = await probeDocker();

async function probeDocker(): Promise<boolean> {
  if (await testRunner.ping()) {
    if (!(await testRunner.hasImage(TEST_IMAGE))) {
      throw new Error(`The Docker daemon is up but ${TEST_IMAGE} is missing: run scripts/ci/setup-docker.sh (as root) to build it.`);
    }
    return true;
  }
  if (process.env.CI === "true") {
    throw new Error(
      "Docker is not reachable (DOCKER_HOST or /var/run/docker.sock) and CI=true: the sandbox tests must run in CI. " +
        "Run scripts/ci/setup-docker.sh (as root) before the tests.",
    );
  }
  return false;
}
