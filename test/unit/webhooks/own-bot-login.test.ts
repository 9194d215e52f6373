import { describe, expect, it, vi } from "vitest";
import { cacheOwnBotLogin, isOwnAppSender } from "../../../src/webhooks/own-bot-login.js";

describe("cacheOwnBotLogin", () => {
  it("reads the login once and keeps it, but not a failed read", async () => {
    const read = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(new Error("GitHub is down"))
      .mockResolvedValue("foreman[bot]");
    const login = cacheOwnBotLogin(read);
    await expect(login()).rejects.toThrow("GitHub is down");
    await expect(Promise.all([login(), login()])).resolves.toEqual(["foreman[bot]", "foreman[bot]"]);
    await expect(login()).resolves.toBe("foreman[bot]");
    expect(read).toHaveBeenCalledTimes(2);
  });
});

describe("isOwnAppSender", () => {
  it("is true only for a Bot sender whose login is the app's; a person's push reads nothing", async () => {
    const login = vi.fn<() => Promise<string>>().mockResolvedValue("foreman[bot]");
    expect(await isOwnAppSender({ login: "octocat", type: "User" }, login)).toBe(false);
    expect(await isOwnAppSender({ login: "foreman[bot]", type: "User" }, login)).toBe(false);
    expect(await isOwnAppSender(null, login)).toBe(false);
    expect(login).not.toHaveBeenCalled();
    expect(await isOwnAppSender({ login: "dependabot[bot]", type: "Bot" }, login)).toBe(false);
    expect(await isOwnAppSender({ login: "foreman[bot]", type: "Bot" }, login)).toBe(true);
  });
});
