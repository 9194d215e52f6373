import { describe, expect, it } from "vitest";
import {
  buildEgressNames,
  buildJobNetworkSpec,
  buildProxyContainerSpec,
  buildProxyUrl,
  buildUpstreamNetworkSpec,
} from "../../../../src/agents/egress/egress-spec.js";

const names = buildEgressNames("foreman");

describe("egress names", () => {
  it("derives every Docker name from the prefix", () => {
    expect(names).toEqual({ prefix: "foreman", proxy: "foreman-egress-proxy", upstream: "foreman-egress" });
    expect(buildJobNetworkSpec({ names, taskId: "t1", jobId: "j1-2", replica: "r1" }).Name).toBe(
      "foreman-egress-job-j1-2",
    );
    expect(() => buildEgressNames("Bad Prefix")).toThrow(/must match/);
    expect(buildProxyUrl()).toBe("http://foreman-egress-proxy:3128");
  });
});

describe("job network", () => {
  it("is internal, has no IPv4 address on the host, no IPv6, and carries the job's labels", () => {
    expect(buildJobNetworkSpec({ names, taskId: "t1", jobId: "j1-2", replica: "r1" })).toEqual({
      Name: "foreman-egress-job-j1-2",
      Driver: "bridge",
      CheckDuplicate: true,
      Internal: true,
      EnableIPv6: false,
      Options: { "com.docker.network.bridge.inhibit_ipv4": "true" },
      Labels: {
        "foreman.egress": "job",
        "foreman.egress.prefix": "foreman",
        "foreman.task": "t1",
        "foreman.job": "j1-2",
        "foreman.replica": "r1",
      },
    });
  });

  it("leaves the upstream network an ordinary bridge: the proxy's way out", () => {
    expect(buildUpstreamNetworkSpec(names, "r1")).toMatchObject({ Name: "foreman-egress", Driver: "bridge" });
    expect(buildUpstreamNetworkSpec(names, "r1")).not.toHaveProperty("Internal");
  });
});

describe("proxy container", () => {
  const spec = buildProxyContainerSpec({
    names,
    image: "foreman-agents/egress-proxy:latest",
    hostDir: "/var/lib/foreman/egress/foreman",
    configHash: "abc",
    replica: "r1",
  });

  it("runs squid as its own user with Foreman's configuration mounted read-only, nothing else writable", () => {
    expect(spec).toMatchObject({
      name: "foreman-egress-proxy",
      Image: "foreman-agents/egress-proxy:latest",
      Entrypoint: ["/usr/sbin/squid"],
      Cmd: ["-N", "-f", "/etc/foreman-egress/squid.conf"],
      User: "proxy",
      Labels: { "foreman.egress": "proxy", "foreman.egress.config": "abc", "foreman.replica": "r1" },
      HostConfig: {
        NetworkMode: "foreman-egress",
        Binds: ["/var/lib/foreman/egress/foreman:/etc/foreman-egress:ro"],
        ReadonlyRootfs: true,
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        Privileged: false,
        RestartPolicy: { Name: "unless-stopped" },
      },
    });
  });

  it("refuses a relative or ambiguous configuration directory", () => {
    for (const hostDir of ["egress", "/a:b"]) {
      expect(() => buildProxyContainerSpec({ names, image: "i", hostDir, configHash: "h", replica: "r" })).toThrow(
        /absolute path/,
      );
    }
  });
});
