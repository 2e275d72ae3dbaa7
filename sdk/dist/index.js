// src/client.ts
import { getAuth } from "firebase/auth";
import { getFirestore } from "firebase/firestore";

// src/balance.ts
import { onAuthStateChanged } from "firebase/auth";
import { doc, onSnapshot } from "firebase/firestore";
function watchBalance(auth, db, callback, onError = (error) => console.error("onBalance:", error)) {
  let stopDocument = null;
  const stopAuth = onAuthStateChanged(auth, (user) => {
    stopDocument?.();
    stopDocument = null;
    if (user === null) {
      callback(null);
      return;
    }
    stopDocument = onSnapshot(
      doc(db, "user_credits", user.uid),
      (snapshot) => {
        if (snapshot.metadata.fromCache && !snapshot.exists()) return;
        callback(toLiveBalance(user.uid, snapshot.data()));
      },
      onError
    );
  });
  return () => {
    stopAuth();
    stopDocument?.();
  };
}
function toLiveBalance(userId, data) {
  const balance = integer(data?.["balance"]);
  const held = integer(data?.["held"]);
  const updatedAt = data?.["updated_at"];
  return {
    userId,
    balance,
    held,
    available: data?.["available"] === void 0 ? balance - held : integer(data["available"]),
    updatedAt: updatedAt ? updatedAt.toDate() : null
  };
}
function integer(value) {
  return typeof value === "number" && Number.isInteger(value) ? value : 0;
}

// src/pages.ts
async function* pages(fetchPage, start) {
  let cursor = start ?? void 0;
  for (; ; ) {
    const page = await fetchPage(cursor);
    yield page;
    if (page.next_cursor === null || page.next_cursor === "") return;
    cursor = page.next_cursor;
  }
}

// src/errors.ts
var BillingError = class extends Error {
  constructor(code, message, status, details = {}, requestId = null) {
    super(message);
    this.code = code;
    this.status = status;
    this.details = details;
    this.requestId = requestId;
  }
  code;
  status;
  details;
  requestId;
  name = "BillingError";
  /** Each bad field of a 400 and what is wrong with it (empty for other errors). */
  get fields() {
    const fields = this.details["fields"];
    return isRecord(fields) ? fields : {};
  }
  /** The service said this exact request may succeed if sent again (same Idempotency-Key). */
  get retryable() {
    return this.details["retryable"] === true;
  }
};
async function errorFromResponse(response) {
  const requestId = response.headers.get("X-Request-Id");
  let body;
  try {
    body = await response.json();
  } catch {
    body = void 0;
  }
  const error = isRecord(body) ? body["error"] : void 0;
  if (isRecord(error) && typeof error["code"] === "string" && typeof error["message"] === "string") {
    const details = isRecord(error["details"]) ? error["details"] : {};
    return new BillingError(
      error["code"],
      error["message"],
      response.status,
      details,
      requestId
    );
  }
  return new BillingError(
    "invalid_response",
    `HTTP ${response.status} without the service's error body`,
    response.status,
    {},
    requestId
  );
}
function isRecord(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// src/transport.ts
var DEFAULT_RETRY = {
  attempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 4e3,
  maxRetryAfterMs: 3e4
};
var RETRIED_STATUSES = /* @__PURE__ */ new Set([429, 503]);
function createTransport(options) {
  const policy = { ...DEFAULT_RETRY, ...options.retry };
  const send = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  const newKey = options.newKey ?? (() => globalThis.crypto.randomUUID());
  const base = options.baseUrl.replace(/\/+$/, "");
  return async function request(call) {
    const mutating = call.method !== "GET";
    const key = mutating ? call.idempotencyKey ?? newKey() : null;
    const url = base + call.path + queryString(call.query);
    for (let attempt = 0; ; attempt++) {
      const headers = {
        Accept: call.blob ? "application/pdf, application/json" : "application/json"
      };
      const token = await options.token();
      if (token !== null) headers["Authorization"] = `Bearer ${token}`;
      if (key !== null) headers["Idempotency-Key"] = key;
      if (call.body !== void 0) headers["Content-Type"] = "application/json";
      const init = { method: call.method, headers };
      if (call.body !== void 0) init.body = JSON.stringify(call.body);
      let error;
      let retryAfterMs = null;
      try {
        const response = await send(url, init);
        if (response.ok) return call.blob ? await response.blob() : await response.json();
        error = await errorFromResponse(response);
        retryAfterMs = parseRetryAfter(response.headers.get("Retry-After"));
      } catch (thrown) {
        if (thrown instanceof BillingError) throw thrown;
        error = new BillingError("network_error", describe(thrown), 0);
      }
      const last = attempt + 1 >= policy.attempts;
      if (last || !isRetryable(error) || (retryAfterMs ?? 0) > policy.maxRetryAfterMs) throw error;
      await sleep(retryAfterMs ?? backoff(policy, attempt, random()));
    }
  };
}
function isRetryable(error) {
  if (error.code === "network_error" || RETRIED_STATUSES.has(error.status)) return true;
  return error.status === 409 && error.retryable;
}
function backoff(policy, attempt, jitter) {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + ceiling / 2 * jitter);
}
function parseRetryAfter(value, now = Date.now()) {
  if (value === null || value.trim() === "") return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1e3;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
function queryString(query) {
  if (query === void 0) return "";
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== void 0 && value !== null) params.set(name, String(value));
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}
function describe(thrown) {
  return thrown instanceof Error ? `no answer from the service: ${thrown.message}` : "no answer";
}

// src/client.ts
function createBillingClient(options) {
  const auth = options.auth ?? (options.app ? getAuth(options.app) : void 0);
  if (auth === void 0) throw new TypeError("createBillingClient needs `app` or `auth`");
  const request = createTransport({
    baseUrl: options.baseUrl ?? "",
    token: async () => auth.currentUser ? auth.currentUser.getIdToken() : null,
    ...options.fetch ? { fetch: options.fetch } : {},
    ...options.retry ? { retry: options.retry } : {}
  });
  const get = (path, query) => request({ method: "GET", path, ...query ? { query } : {} });
  const post = (path, body, opts = {}) => request({ method: "POST", path, body, ...opts });
  const list = (path, query) => {
    const { cursor, ...filters } = query;
    return pages((next) => get(path, { ...filters, cursor: next }), cursor?.toString());
  };
  const one = (path, id) => path.replace(/{\w+}/, encodeURIComponent(id));
  return {
    /** The caller's balance, held and available credit units. */
    balance: () => get("/api/v1/credits/balance"),
    /** The balance plus lifetime totals and settings. */
    account: () => get("/api/v1/credits/account"),
    /** Change the caller's settings (the low-balance threshold, in credit units). */
    updateAccount: (patch, opts = {}) => request({
      method: "PATCH",
      path: "/api/v1/credits/account",
      body: patch,
      ...opts
    }),
    /** Credit packages on sale, with tax, total and bonus credits. */
    packages: async () => (await get("/api/v1/credits/packages")).data,
    /** Start a credit purchase. Razorpay: open Checkout with `key_id` and `provider_order_id`,
     * then `verifyPurchase` its handler's answer. Stripe: confirm `client_secret` with Stripe.js. */
    purchase: (purchase, opts = {}) => post("/api/v1/credits/purchase", purchase, opts),
    /** Verify Razorpay Checkout's result and grant the order's credits (once). */
    verifyPurchase: (result, opts = {}) => post("/api/v1/payments/verify", result, opts),
    /** One of the caller's credit orders, with its status. */
    orderStatus: (orderId) => get("/api/v1/payments/status", { order_id: orderId }),
    /** The caller's credit orders, newest first, a page at a time. */
    orders: (query = {}) => list("/api/v1/credits/orders", query),
    /** The caller's ledger entries, newest first, a page at a time (`for await` the pages). */
    transactions: (query = {}) => list("/api/v1/transactions", query),
    /** Credits used, grouped by service or by day. */
    usage: (query = {}) => get("/api/v1/transactions/usage", query),
    /** Seed 004: pay with a Stripe PaymentMethod; `requires_action` means 3-D Secure: confirm
     * `client_secret` with Stripe.js, then `verifyPayment`. A declined card is a BillingError
     * `card_declined` (402) with `details.decline_code`. */
    pay: (payment, opts = {}) => post("/api/payment/process", payment, opts),
    payment: (paymentIntentId) => get(one("/api/payment/{payment_intent_id}", paymentIntentId)),
    verifyPayment: (paymentIntentId, opts = {}) => post("/api/payment/verify", { payment_intent_id: paymentIntentId }, opts),
    /** Refund a card payment in full or in part (never more than was captured). */
    refund: (refund, opts = {}) => post("/api/refund/process", refund, opts),
    getRefund: (refundId) => get(one("/api/refund/{refund_id}", refundId)),
    verifyRefund: (refundId, opts = {}) => post("/api/refund/verify", { refund_id: refundId }, opts),
    /** Admins only (custom claim admin: true): grant credits to a user, with a reason. */
    grantCredits: (change, opts = {}) => post("/api/v1/admin/credits/grant", change, opts),
    /** Admins only: adjust a user's credits up or down (signed amount), with a reason. */
    adjustCredits: (change, opts = {}) => post("/api/v1/admin/credits/adjust", change, opts),
    /** Admins only: the account of the user with this email or user_id (with its email). */
    findAccount: (query) => get("/api/v1/admin/accounts", query),
    /** Admins only: that user's ledger entries, newest first, a page at a time. */
    accountTransactions: (query) => list("/api/v1/admin/transactions", query),
    /** Admins only: refund a credit purchase through its provider (all that is left by default);
     * its credits are taken back once, whichever of this answer and the provider's webhook
     * comes first. */
    refundOrder: (orderId, refund, opts = {}) => post(one("/api/v1/admin/orders/{order_id}/refund", orderId), refund, opts),
    /** The caller's GST tax invoices and credit notes, newest first, a page at a time (admins:
     * any account's with `user_id`). */
    invoices: (query = {}) => list("/api/v1/invoices", query),
    /** One tax invoice or credit note (another user's is a 404). */
    invoice: (invoiceId) => get(one("/api/v1/invoices/{invoice_id}", invoiceId)),
    /** One tax invoice or credit note as a PDF Blob (the same bytes every time). */
    invoicePdf: (invoiceId) => request({
      method: "GET",
      path: one("/api/v1/invoices/{invoice_id}/pdf", invoiceId),
      blob: true
    }),
    /** The caller's billing details for invoices (a 404 until saved). */
    billingDetails: () => get("/api/v1/billing/details"),
    /** Save the caller's billing details (name, address, state, optional GSTIN); used for
     * invoices of purchases paid after saving. A bad field is a 400 naming it. */
    saveBillingDetails: (details, opts = {}) => request({
      method: "PUT",
      path: "/api/v1/billing/details",
      body: details,
      ...opts
    }),
    /** Register this device's FCM token for the caller's push notifications (low balance). */
    registerDevice: (device, opts = {}) => post("/api/v1/devices", device, opts),
    /** Live balance of whoever is signed in: a Firestore listener on their own user_credits
     * document, following sign-in and sign-out (null while nobody is signed in). Returns the
     * function that stops listening. */
    onBalance: (callback, onError) => watchBalance(auth, options.firestore ?? getFirestore(auth.app), callback, onError)
  };
}
export {
  BillingError,
  DEFAULT_RETRY,
  createBillingClient,
  pages,
  parseRetryAfter
};
