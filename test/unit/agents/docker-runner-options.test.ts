import { describe, expect, it } from "vitest";
import { dockerOptionsFromHost } from "../../../src/agents/docker-runner.js";

describe("dockerOptionsFromHost", () => {
  it.each([
    [undefined, { socketPath: "/var/run/docker.sock" }],
    ["", { socketPath: "/var/run/docker.sock" }],
    ["unix:///run/user/1000/docker.sock", { socketPath: "/run/user/1000/docker.sock" }],
    ["tcp://docker.internal:2376", { protocol: "http", host: "docker.internal", port: 2376 }],
    ["tcp://10.0.0.5", { protocol: "http", host: "10.0.0.5", port: 2375 }],
  ])("maps %j", (dockerHost, expected) => {
    expect(dockerOptionsFromHost(dockerHost)).toEqual(expected);
  });

  it("refuses schemes it cannot honour instead of guessing", () => {
    expect(() => dockerOptionsFromHost("ssh://me@host")).toThrow(
      'DOCKER_HOST "ssh://me@host" is not supported here: use unix:///path/to/docker.sock or tcp://host:port.',
    );
  });
});
