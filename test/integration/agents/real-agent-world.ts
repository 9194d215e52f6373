/**
 * The world a real agent CLI runs in during a test: the shipped agent images, Foreman's egress
 * firewall (squid on an upstream network of this file's own prefix), and the scripted model server
 * in a container on that upstream network, known as `model.test`. The CLI reaches the model only
 * through the proxy, as it would reach the real API; nothing else is reachable. Every Docker name
 * starts with the caller's random prefix, and `remove()` takes everything away.
 */
import { randomBytes } from "node:crypto";
import Docker from "dockerode";
import { dockerOptionsFromHost, DockerRunner } from "../../../src/agents/docker-runner.js";
import { buildEgressNames, buildUpstreamNetworkSpec, EGRESS_LABELS } from "../../../src/agents/egress/egress-spec.js";
import { JOB_LABELS } from "../../../src/agents/job-spec.js";
import {
  MODEL_SERVER_IMAGE,
  startModelServerContainer,
  type ModelServerContainer,
} from "../../support/model-server/model-container.js";
import { EGRESS_TEST_IMAGE } from "./egress-available.js";
import { createTempDir } from "./sandbox-fixtures.js";

/** The name the agents use for the model API. */
export const MODEL_HOST = "model.test";
/** Any key: the scripted model checks none, and the logs must never show it. */
export const MODEL_API_KEY = "sk-scripted-model-key-0123456789";
/** The images the real-agent tests run (`npm run images:build`). */
export const REAL_AGENT_IMAGES = [
  "foreman-agents/claude-code:latest",
  "foreman-agents/codex:latest",
  "foreman-agents/gemini-cli:latest",
  MODEL_SERVER_IMAGE,
  EGRESS_TEST_IMAGE,
] as const;

/** A running world for real agents. */
export interface RealAgentWorld {
  readonly prefix: string;
  readonly replica: string;
  readonly model: ModelServerContainer;
  /** The egress settings of a DockerRunner (and of Foreman's env, as `foremanEnv`). */
  readonly egress: { image: string; prefix: string; dir: string; internalAllow: string[]; replica: string };
  /** Foreman's environment for these agents: the model's URLs and key, the egress allow-list, the firewall's names. */
  readonly foremanEnv: Record<string, string>;
  /** The agent secrets and settings a `runAgentJob` request gives (what Foreman forwards from `foremanEnv`). */
  readonly agentEnv: Record<string, string>;
  readonly runner: DockerRunner;
  remove(): Promise<void>;
}

/** Fails with what to do when the daemon lacks an image the real-agent tests need (never a skip). */
export async function requireRealAgentImages(): Promise<void> {
  const runner = new DockerRunner(dockerOptionsFromHost(process.env.DOCKER_HOST));
  const missing: string[] = [];
  for (const image of REAL_AGENT_IMAGES) if (!(await runner.hasImage(image))) missing.push(image);
  if (missing.length > 0) {
    throw new Error(
      `The real-agent tests need the agent images, and ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} ` +
        "missing: run `sudo npm run images:build` (the first build needs Debian's mirror and the npm registry).",
    );
  }
}

/** Starts the firewall's upstream network and the model server; the proxy starts with the first job. */
export async function startRealAgentWorld(label: string): Promise<RealAgentWorld> {
  const prefix = `foreman-${label}-${randomBytes(3).toString("hex")}`;
  const replica = `${prefix}-replica`;
  const docker = new Docker(dockerOptionsFromHost(process.env.DOCKER_HOST));
  const names = buildEgressNames(prefix);
  const egressDir = await createTempDir(`${prefix}-egress-`);
  await docker.createNetwork(buildUpstreamNetworkSpec(names, replica));
  let model: ModelServerContainer;
  try {
    model = await startModelServerContainer(docker, {
      name: `${prefix}-model`,
      network: names.upstream,
      alias: MODEL_HOST,
      labels: { [EGRESS_LABELS.prefix]: prefix },
    });
  } catch (error) {
    await docker
      .getNetwork(names.upstream)
      .remove()
      .catch(() => undefined);
    throw error;
  }
  const egress = {
    image: EGRESS_TEST_IMAGE,
    prefix,
    dir: egressDir.dir,
    // The model's address is private (a Docker bridge): the operator allows it, as for an internal gateway.
    internalAllow: [`${model.ip}/32`],
    replica,
  };
  const runner = new DockerRunner(dockerOptionsFromHost(process.env.DOCKER_HOST), {}, { egress });
  const agentEnv = {
    ANTHROPIC_API_KEY: MODEL_API_KEY,
    ANTHROPIC_BASE_URL: `http://${model.hostPort}`,
    // The tests script every answer: a CLI's own retries would take turns of the scenario.
    CLAUDE_CODE_MAX_RETRIES: "0",
    OPENAI_API_KEY: MODEL_API_KEY,
    OPENAI_BASE_URL: `http://${model.hostPort}/v1`,
    // A model Codex knows (its bundled list), so it offers apply_patch.
    CODEX_MODEL: "gpt-5.5",
    GEMINI_API_KEY: MODEL_API_KEY,
    GOOGLE_GEMINI_BASE_URL: `http://${model.hostPort}`,
    // A model named: without one the Gemini CLI first asks a router model which to use.
    GEMINI_MODEL: "gemini-2.5-flash",
  };
  const foremanEnv = {
    ...agentEnv,
    AGENT_ENV_ALLOWLIST: Object.keys(agentEnv).join(","),
    AGENT_EGRESS_ALLOW: model.hostPort,
    EGRESS_PROXY_IMAGE: egress.image,
    EGRESS_NAME_PREFIX: prefix,
    EGRESS_DIR: egress.dir,
    EGRESS_INTERNAL_ALLOW: egress.internalAllow.join(","),
  };
  return {
    prefix,
    replica,
    model,
    egress,
    foremanEnv,
    agentEnv,
    runner,
    async remove() {
      await model.remove();
      // Whatever a job or Foreman left with this prefix: job containers, job networks, the proxy.
      const containers = await docker.listContainers({ all: true });
      for (const container of containers) {
        const named = container.Names.some((name) => name.startsWith(`/${prefix}`));
        if (
          named ||
          container.Labels[EGRESS_LABELS.prefix] === prefix ||
          container.Labels[JOB_LABELS.replica] === replica
        )
          await docker
            .getContainer(container.Id)
            .remove({ force: true })
            .catch(() => undefined);
      }
      for (const network of await docker.listNetworks()) {
        if (network.Name.startsWith(prefix))
          await docker
            .getNetwork(network.Id)
            .remove()
            .catch(() => undefined);
      }
      await egressDir.cleanup();
    },
  };
}
