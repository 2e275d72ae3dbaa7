import { describe, expect, it } from "vitest";

import { createBillingClient } from "../../src/client.js";
import type { Auth } from "firebase/auth";
import { fakeFetch, json } from "./fake-fetch.js";

const signedIn = { currentUser: { getIdToken: async () => "id-token" } } as unknown as Auth;

function entry(id: string) {
  return {
    id,
    seq: 1,
    type: "usage",
    amount: -1,
    balance_after: 0,
    created_at: "2026-11-30T00:00:00+00:00",
  };
}

describe("transactions, a page at a time", () => {
  it("follows next_cursor until the last page, with the filters on every page", async () => {
    const fake = fakeFetch(
      json(200, { data: [entry("e3"), entry("e2")], next_cursor: "c2" }),
      json(200, { data: [entry("e1")], next_cursor: null }),
    );
    const billing = createBillingClient({
      auth: signedIn,
      baseUrl: "http://api",
      fetch: fake.fetch,
    });
    const ids: string[][] = [];
    for await (const page of billing.transactions({ type: "usage", limit: 2 })) {
      ids.push(page.data.map((e) => e.id));
    }
    expect(ids).toEqual([["e3", "e2"], ["e1"]]);
    expect(fake.sent.map((s) => s.url)).toEqual([
      "http://api/api/v1/transactions?type=usage&limit=2",
      "http://api/api/v1/transactions?type=usage&limit=2&cursor=c2",
    ]);
  });

  it("fetches a page only when the caller asks for it", async () => {
    const fake = fakeFetch(json(200, { data: [entry("e2")], next_cursor: "c1" }));
    const billing = createBillingClient({ auth: signedIn, fetch: fake.fetch });
    const history = billing.transactions({ limit: 1 });
    expect(fake.sent).toHaveLength(0);
    const first = await history.next();
    expect(first.value?.next_cursor).toBe("c1");
    expect(fake.sent).toHaveLength(1);
    await history.return(undefined); // the page closed: no further request
    expect(fake.sent).toHaveLength(1);
  });

  it("starts at a cursor kept from an earlier page", async () => {
    const fake = fakeFetch(json(200, { data: [], next_cursor: null }));
    const billing = createBillingClient({ auth: signedIn, fetch: fake.fetch });
    for await (const page of billing.transactions({ cursor: "kept" }))
      expect(page.data).toEqual([]);
    expect(fake.sent[0]?.url).toBe("/api/v1/transactions?cursor=kept");
  });

  it("an empty next_cursor ends the list too", async () => {
    const fake = fakeFetch(json(200, { data: [], next_cursor: "" }));
    const billing = createBillingClient({ auth: signedIn, fetch: fake.fetch });
    let count = 0;
    for await (const _ of billing.orders()) count++;
    expect(count).toBe(1);
  });
});

describe("the client's calls", () => {
  it("unwrap the packages and send each call to its endpoint", async () => {
    const fake = fakeFetch(
      json(200, { data: [{ id: "basic" }] }),
      json(201, { payment_intent_id: "pi_1" }),
      json(200, { payment_intent_id: "pi/1" }),
      json(200, { low_balance_threshold: 700 }),
      json(200, { order_id: "o1" }),
    );
    const billing = createBillingClient({ auth: signedIn, fetch: fake.fetch });
    expect(await billing.packages()).toEqual([{ id: "basic" }]);
    await billing.verifyPayment("pi_1");
    await billing.payment("pi/1");
    await billing.updateAccount({ low_balance_threshold: 700 });
    await billing.orderStatus("o1");
    expect(fake.sent.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET /api/v1/credits/packages",
      "POST /api/payment/verify",
      "GET /api/payment/pi%2F1",
      "PATCH /api/v1/credits/account",
      "GET /api/v1/payments/status?order_id=o1",
    ]);
    expect(fake.sent[1]?.body).toEqual({ payment_intent_id: "pi_1" });
    expect(fake.sent[3]?.headers["Idempotency-Key"]).toBeTruthy();
  });

  it("needs an app or an auth", () => {
    expect(() => createBillingClient({})).toThrow(TypeError);
  });
});
