import { describe, expect, it } from "vitest";

import { BillingError } from "../../src/errors.js";
import { createTransport, parseRetryAfter, type TransportOptions } from "../../src/transport.js";
import { apiError, fakeFetch, json, type Answer } from "./fake-fetch.js";

function transport(answers: Answer[], options: Partial<TransportOptions> = {}) {
  const fake = fakeFetch(...answers);
  const delays: number[] = [];
  let keys = 0;
  const request = createTransport({
    baseUrl: "https://billing.test/",
    token: async () => "id-token",
    fetch: fake.fetch,
    sleep: async (ms) => void delays.push(ms),
    random: () => 0.5,
    newKey: () => `key-${++keys}`,
    ...options,
  });
  return { request, sent: fake.sent, delays };
}

const purchase = {
  method: "POST",
  path: "/api/v1/credits/purchase",
  body: { package_id: "basic" },
} as const;

async function failure(promise: Promise<unknown>): Promise<BillingError> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(BillingError);
  return error as BillingError;
}

describe("idempotency keys", () => {
  it("a mutating call sends one key, the same on each of its retries", async () => {
    const { request, sent } = transport([
      apiError(503, "unavailable"),
      apiError(429, "rate_limited", {}, { "Retry-After": "1" }),
      json(201, { order_id: "o1" }),
    ]);
    expect(await request(purchase)).toEqual({ order_id: "o1" });
    expect(sent.map((s) => s.headers["Idempotency-Key"])).toEqual(["key-1", "key-1", "key-1"]);
    expect(sent.every((s) => JSON.stringify(s.body) === '{"package_id":"basic"}')).toBe(true);
  });

  it("each call has its own key", async () => {
    const { request, sent } = transport([json(201, {}), json(201, {})]);
    await request(purchase);
    await request(purchase);
    expect(sent.map((s) => s.headers["Idempotency-Key"])).toEqual(["key-1", "key-2"]);
  });

  it("a key the caller kept is sent instead of a new one", async () => {
    const { request, sent } = transport([json(200, {})]);
    await request({ ...purchase, idempotencyKey: "kept-across-reload" });
    expect(sent[0]?.headers["Idempotency-Key"]).toBe("kept-across-reload");
  });

  it("reads send no key", async () => {
    const { request, sent } = transport([json(200, { balance: 1 })]);
    await request({ method: "GET", path: "/api/v1/credits/balance" });
    expect(sent[0]?.headers["Idempotency-Key"]).toBeUndefined();
    expect(sent[0]?.headers["Content-Type"]).toBeUndefined();
  });

  it("uses crypto.randomUUID by default", async () => {
    const fake = fakeFetch(json(201, {}));
    const request = createTransport({ baseUrl: "", token: async () => null, fetch: fake.fetch });
    await request(purchase);
    expect(fake.sent[0]?.headers["Idempotency-Key"]).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("retries", () => {
  it("waits what Retry-After says on 429 and 503", async () => {
    const { request, delays } = transport([
      apiError(429, "rate_limited", { retry_after_seconds: 2 }, { "Retry-After": "2" }),
      apiError(503, "unavailable", {}, { "Retry-After": "3" }),
      json(201, {}),
    ]);
    await request(purchase);
    expect(delays).toEqual([2000, 3000]);
  });

  it("backs off exponentially with jitter when no Retry-After is given, then gives up", async () => {
    const { request, sent, delays } = transport([
      apiError(503, "unavailable"),
      apiError(503, "unavailable"),
      apiError(503, "unavailable"),
      apiError(503, "unavailable"),
    ]);
    const error = await failure(request(purchase));
    expect(error.code).toBe("unavailable");
    expect(error.status).toBe(503);
    expect(sent).toHaveLength(4); // DEFAULT_RETRY.attempts
    expect(delays).toEqual([188, 375, 750]); // 250·2ⁿ, half fixed and half jittered (0.5)
  });

  it("caps the backoff at maxDelayMs", async () => {
    const { request, delays } = transport(
      [apiError(503, "unavailable"), apiError(503, "unavailable"), json(200, {})],
      { retry: { baseDelayMs: 10_000, maxDelayMs: 1_000 }, random: () => 1 },
    );
    await request(purchase);
    expect(delays).toEqual([1000, 1000]);
  });

  it("does not wait for a Retry-After longer than maxRetryAfterMs", async () => {
    const { request, sent, delays } = transport([
      apiError(429, "rate_limited", {}, { "Retry-After": "3600" }),
    ]);
    const error = await failure(request(purchase));
    expect(error.code).toBe("rate_limited");
    expect(sent).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it("retries a 409 the service marks retryable (the same key still running)", async () => {
    const { request, sent } = transport([
      apiError(409, "conflict", { retryable: true }),
      json(201, { order_id: "o1" }),
    ]);
    expect(await request(purchase)).toEqual({ order_id: "o1" });
    expect(sent).toHaveLength(2);
  });

  it("never retries a 409 that says the request itself conflicts", async () => {
    const { request, sent } = transport([apiError(409, "conflict", { problems: ["amount"] })]);
    const error = await failure(request(purchase));
    expect([error.code, error.status, error.retryable]).toEqual(["conflict", 409, false]);
    expect(sent).toHaveLength(1);
  });

  it.each([
    [400, "invalid_request"],
    [401, "unauthenticated"],
    [402, "card_declined"],
    [404, "not_found"],
    [422, "idempotency_key_reused"],
    [500, "internal"],
    [502, "provider_error"],
  ])("never retries %i %s", async (status, code) => {
    const { request, sent } = transport([apiError(status, code)]);
    expect((await failure(request(purchase))).code).toBe(code);
    expect(sent).toHaveLength(1);
  });

  it("retries when no answer arrived, with the same key, and says so when none ever does", async () => {
    const { request, sent } = transport([
      new TypeError("fetch failed"),
      new TypeError("fetch failed"),
      new TypeError("fetch failed"),
      new TypeError("fetch failed"),
    ]);
    const error = await failure(request(purchase));
    expect([error.code, error.status]).toEqual(["network_error", 0]);
    expect(error.message).toContain("fetch failed");
    expect(new Set(sent.map((s) => s.headers["Idempotency-Key"]))).toEqual(new Set(["key-1"]));
  });

  it("asks for the token again on each try (Firebase refreshes an expiring one)", async () => {
    let tokens = 0;
    const { request, sent } = transport([apiError(503, "unavailable"), json(200, {})], {
      token: async () => `token-${++tokens}`,
    });
    await request({ method: "GET", path: "/api/v1/credits/balance" });
    expect(sent.map((s) => s.headers["Authorization"])).toEqual([
      "Bearer token-1",
      "Bearer token-2",
    ]);
  });
});

describe("errors", () => {
  it("carry our code, the status, the details, each bad field and the request id", async () => {
    const body = {
      error: {
        code: "invalid_request",
        message: "amount: too small",
        details: { fields: { amount: "too small" } },
      },
    };
    const { request } = transport([json(400, body, { "X-Request-Id": "req-1" })]);
    const error = await failure(request(purchase));
    expect(error).toMatchObject({
      name: "BillingError",
      code: "invalid_request",
      message: "amount: too small",
      status: 400,
      requestId: "req-1",
    });
    expect(error.fields).toEqual({ amount: "too small" });
    expect(error.details).toEqual({ fields: { amount: "too small" } });
  });

  it("a declined card keeps its decline code in details", async () => {
    const { request } = transport([
      apiError(402, "card_declined", { decline_code: "insufficient_funds" }),
    ]);
    const error = await failure(request(purchase));
    expect(error.details["decline_code"]).toBe("insufficient_funds");
    expect(error.fields).toEqual({});
  });

  it("an answer that is not our error body is invalid_response with its status", async () => {
    const html = new Response("<html>Bad gateway</html>", {
      status: 502,
      headers: { "Content-Type": "text/html" },
    });
    const { request } = transport([html]);
    const error = await failure(request(purchase));
    expect([error.code, error.status]).toEqual(["invalid_response", 502]);
  });
});

describe("requests", () => {
  it("join the base URL, the path and the query, leaving out empty parameters", async () => {
    const { request, sent } = transport([json(200, { data: [] })]);
    await request({
      method: "GET",
      path: "/api/v1/transactions",
      query: { type: "usage", limit: 5, cursor: undefined, from: null },
    });
    expect(sent[0]?.url).toBe("https://billing.test/api/v1/transactions?type=usage&limit=5");
  });

  it("send the ID token, and none when nobody is signed in", async () => {
    const signedIn = transport([json(200, {})]);
    await signedIn.request({ method: "GET", path: "/a" });
    expect(signedIn.sent[0]?.headers["Authorization"]).toBe("Bearer id-token");
    const anonymous = transport([json(200, {})], { token: async () => null });
    await anonymous.request({ method: "GET", path: "/a" });
    expect(anonymous.sent[0]?.headers["Authorization"]).toBeUndefined();
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates, and ignores the rest", () => {
    const now = Date.parse("2026-11-30T17:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter("Mon, 30 Nov 2026 17:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Mon, 30 Nov 2026 16:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
