/** The SDK against the real local stack, as a web app uses it: Firebase Auth (emulator) signs the
 * user in, the SDK calls the gateway, Razorpay Checkout and Stripe.js are played by the sandboxes,
 * and the live balance comes from a Firestore listener (Google's emulator, gRPC, through the
 * security rules). */
import { deleteApp, type FirebaseApp } from "firebase/app";
import { getAuth } from "firebase/auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  BillingError,
  createBillingClient,
  type BillingClient,
  type LedgerEntry,
  type LiveBalance,
} from "../../src/index.js";
import {
  cardPaymentMethod,
  chargeUsage,
  confirmAsStripeJs,
  firstMatching,
  payInCheckout,
  signedInApp,
  stack,
} from "./stack.js";

const CARD_OK = "4242424242424242";
const CARD_DECLINED = "4000000000000341";
// The basic package: ₹500 + 18 % GST; 50,000 credit units and a 10 % bonus.
const BASIC = { total: 59_000, tax: 9_000, credits: 50_000, bonus_credits: 5_000 };
const BASIC_GRANT = BASIC.credits + BASIC.bonus_credits;

let app: FirebaseApp;
let adminApp: FirebaseApp;
let billing: BillingClient;
let uid: string;

beforeAll(async () => {
  app = await signedInApp(stack.userEmail);
  adminApp = await signedInApp(stack.adminEmail);
  billing = createBillingClient({ app, baseUrl: stack.gateway });
  uid = getAuth(app).currentUser!.uid;
});

afterAll(async () => {
  await Promise.all([deleteApp(app), deleteApp(adminApp)]);
});

/** The next live balance `onBalance` reports that passes `accept`.
 *
 * Each call adds one more listener to the user's own app, so several share one Firestore Listen
 * stream as in an app (Google's emulator, like production, serves every target of a stream; the
 * stack's earlier emulator heard only the first, so each listener once needed an app of its own). */
async function liveBalance(
  accept: (live: LiveBalance) => boolean,
): Promise<{ reported: Promise<LiveBalance> }> {
  const live = firstMatching<LiveBalance | null>(
    (report, fail) => billing.onBalance(report, fail),
    (value) => value !== null && accept(value),
  ) as Promise<LiveBalance>;
  return { reported: live };
}

async function failure(call: Promise<unknown>): Promise<BillingError> {
  const thrown = await call.then(
    () => null,
    (error: unknown) => error,
  );
  expect(thrown).toBeInstanceOf(BillingError);
  return thrown as BillingError;
}

describe("a new user", () => {
  it("has a zero balance and sees the packages priced with tax and bonus", async () => {
    expect(await billing.balance()).toMatchObject({
      user_id: uid,
      balance: 0,
      held: 0,
      available: 0,
    });
    const basic = (await billing.packages()).find((p) => p.id === "basic");
    expect(basic).toMatchObject({ amount: 50_000, currency: "inr", ...BASIC });
  });

  it("has a live balance of zero before any ledger entry (no document yet)", async () => {
    const live = await liveBalance(() => true);
    expect(await live.reported).toMatchObject({
      userId: uid,
      balance: 0,
      held: 0,
      updatedAt: null,
    });
  });

  it("sets the low-balance threshold", async () => {
    await billing.updateAccount({ low_balance_threshold: 7_000 });
    expect((await billing.account()).low_balance_threshold).toBe(7_000);
  });
});

describe("buying credits through Razorpay Checkout", () => {
  it("grants the package once and the live balance shows it", async () => {
    const granted = await liveBalance((live) => live.balance === BASIC_GRANT);
    const checkout = await billing.purchase({ package_id: "basic" });
    expect(checkout).toMatchObject({ provider: "razorpay", key_id: expect.any(String), ...BASIC });

    const paid = await billing.verifyPurchase(await payInCheckout(checkout.provider_order_id));
    expect(paid).toMatchObject({
      order_id: checkout.order_id,
      status: "paid",
      credits_granted: BASIC_GRANT,
    });
    const live = await granted.reported;
    expect(live).toMatchObject({
      userId: uid,
      balance: BASIC_GRANT,
      held: 0,
      available: BASIC_GRANT,
    });
    expect(live.updatedAt).toBeInstanceOf(Date);

    expect((await billing.orderStatus(checkout.order_id)).status).toBe("paid");
    const first = await billing.orders({ limit: 5 }).next();
    expect(first.value?.data.map((o) => o.order_id)).toContain(checkout.order_id);
  });

  it("saves billing details, then the paid order's tax invoice lists and downloads as PDF", async () => {
    const bad = await failure(billing.saveBillingDetails({ name: "X", address: "Y", state: "99" }));
    expect([bad.code, bad.status, Object.keys(bad.details["fields"] ?? {})]).toEqual([
      "invalid_request",
      400,
      ["state"],
    ]);
    const saved = await billing.saveBillingDetails({
      name: "Pune LLP",
      address: "Pune",
      state: "27",
    });
    expect((await billing.billingDetails()).state_name).toBe(saved.state_name);
    const checkout = await billing.purchase({ package_id: "basic" });
    await billing.verifyPurchase(await payInCheckout(checkout.provider_order_id));

    const first = await billing.invoices({ limit: 5 }).next();
    const invoice = first.value?.data.find((i) => i.order_id === checkout.order_id);
    expect(invoice).toMatchObject({ kind: "invoice", supply: "inter_state", igst_rate: 18 });
    expect(await billing.invoice(invoice!.invoice_id)).toEqual(invoice);
    const pdf = await billing.invoicePdf(invoice!.invoice_id);
    expect(pdf.type).toBe("application/pdf");
    expect(new TextDecoder().decode((await pdf.arrayBuffer()).slice(0, 5))).toBe("%PDF-");
  });

  it("a purchase sent again with its key is the same order (the service replays it)", async () => {
    const idempotencyKey = crypto.randomUUID();
    const first = await billing.purchase({ package_id: "basic" }, { idempotencyKey });
    const again = await billing.purchase({ package_id: "basic" }, { idempotencyKey });
    expect(again.order_id).toBe(first.order_id);
    const reused = await failure(billing.purchase({ package_id: "starter" }, { idempotencyKey }));
    expect([reused.code, reused.status]).toEqual(["idempotency_key_reused", 422]);
  });

  it("a bad amount is a typed 400 naming the field, and nothing is ordered", async () => {
    const error = await failure(billing.purchase({ amount: 5, currency: "inr" }));
    expect(error).toMatchObject({ name: "BillingError", code: "invalid_request", status: 400 });
    expect(Object.keys(error.fields)).toContain("amount");
    expect(error.requestId).toBeTruthy();
  });
});

describe("buying credits through Stripe", () => {
  it("confirming the client secret as Stripe.js does grants the credits", async () => {
    const before = (await billing.balance()).balance;
    const granted = await liveBalance((live) => live.balance === before + BASIC_GRANT);
    const checkout = await billing.purchase({ package_id: "basic", provider: "stripe" });
    expect(checkout.provider).toBe("stripe");
    expect(checkout.client_secret?.startsWith(checkout.provider_order_id)).toBe(true);
    await confirmAsStripeJs(checkout.provider_order_id, CARD_OK);
    expect((await granted.reported).balance).toBe(before + BASIC_GRANT);
  });
});

describe("card payments and refunds (seed 004)", () => {
  it("a good card pays at once, verifies, and refunds in part", async () => {
    const payment_method = await cardPaymentMethod(CARD_OK);
    const payment = await billing.pay({ amount: 1_000, currency: "sgd", payment_method });
    expect(payment).toMatchObject({ status: "succeeded", requires_action: false, amount: 1_000 });
    expect((await billing.verifyPayment(payment.payment_intent_id)).verified).toBe(true);
    expect((await billing.payment(payment.payment_intent_id)).currency).toBe("sgd");

    const refund = await billing.refund({
      payment_intent_id: payment.payment_intent_id,
      amount: 400,
    });
    expect(refund).toMatchObject({ amount: 400, payment_intent_id: payment.payment_intent_id });
    expect((await billing.getRefund(refund.refund_id)).refund_id).toBe(refund.refund_id);
    const tooMuch = await failure(
      billing.refund({ payment_intent_id: payment.payment_intent_id, amount: 1_000 }),
    );
    expect([tooMuch.code, tooMuch.status]).toEqual(["invalid_request", 400]);
  });

  it("a declined card is a typed card_declined 402 with the decline code", async () => {
    const payment_method = await cardPaymentMethod(CARD_DECLINED);
    const error = await failure(billing.pay({ amount: 1_000, currency: "sgd", payment_method }));
    expect([error.code, error.status]).toEqual(["card_declined", 402]);
    expect(error.details["decline_code"]).toEqual(expect.any(String));
  });
});

describe("history", () => {
  it("pages through every ledger entry, newest first, one request per page", async () => {
    await chargeUsage(uid, "ai", 300);
    await chargeUsage(uid, "ai", 200);
    const all = (await billing.transactions({ limit: 100 }).next()).value!.data;
    expect(all.length).toBeGreaterThanOrEqual(6); // two purchases with their bonuses, two charges

    const paged: LedgerEntry[] = [];
    let pages = 0;
    for await (const page of billing.transactions({ limit: 2 })) {
      pages++;
      expect(page.data.length).toBeLessThanOrEqual(2);
      paged.push(...page.data);
    }
    expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
    // A full last page may still carry a cursor, whose page is then empty.
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(all.length / 2));
    expect(pages).toBeLessThanOrEqual(Math.ceil(all.length / 2) + 1);
    const seqs = paged.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));

    const usage: LedgerEntry[] = [];
    for await (const page of billing.transactions({ type: "usage", limit: 1 }))
      usage.push(...page.data);
    expect(usage.map((e) => e.amount)).toEqual([-200, -300]);
  });

  it("sums usage by service", async () => {
    const summary = await billing.usage({ group_by: "service" });
    expect(summary.data).toEqual([{ key: "ai", amount: 500, count: 2 }]);
    expect(summary.total).toBe(500);
  });
});

describe("admin", () => {
  it("an admin grants credits with a reason, and the user's live balance shows them", async () => {
    const before = (await billing.balance()).balance;
    const granted = await liveBalance((live) => live.balance === before + 1_234);
    const admin = createBillingClient({ app: adminApp, baseUrl: stack.gateway });
    await admin.grantCredits({ user_id: uid, amount: 1_234, reason: "web SDK test goodwill" });
    expect((await granted.reported).balance).toBe(before + 1_234);
  });

  it("a user without the admin claim is a typed 403", async () => {
    const error = await failure(billing.grantCredits({ user_id: uid, amount: 1, reason: "self" }));
    expect([error.code, error.status]).toEqual(["forbidden", 403]);
  });
});

describe("onBalance", () => {
  it("follows sign-out: null, and no listener left behind", async () => {
    const other = await signedInApp(stack.otherEmail);
    const client = createBillingClient({ app: other, baseUrl: stack.gateway });
    const seen: (LiveBalance | null)[] = [];
    const stop = client.onBalance((live) => seen.push(live));
    await waitFor(() => seen.some((live) => live !== null));
    const { balance, held, available } = await client.balance();
    expect(seen.find((live) => live !== null)).toMatchObject({ balance, held, available });
    await getAuth(other).signOut();
    await waitFor(() => seen.at(-1) === null);
    stop();
    const count = seen.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen).toHaveLength(count);
    await deleteApp(other);
  });
});

async function waitFor(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
