/** The local stack the integration tests run against, from the environment
 * tests/e2e/test_web_sdk.py sets; and what a customer and the providers do outside the SDK. */
import { initializeApp, type FirebaseApp } from "firebase/app";
import { connectAuthEmulator, getAuth, signInWithEmailAndPassword } from "firebase/auth";
import { connectFirestoreEmulator, getFirestore } from "firebase/firestore";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests from tests/e2e/test_web_sdk.py`);
  return value;
}

export const stack = {
  gateway: required("BILLING_GATEWAY_URL"),
  project: required("FIREBASE_PROJECT_ID"),
  authEmulator: required("FIREBASE_AUTH_EMULATOR_URL"),
  firestoreEmulator: required("FIRESTORE_EMULATOR_HOST"),
  razorpay: required("RAZORPAY_SANDBOX_URL"),
  stripe: required("STRIPE_API_URL"),
  stripeKey: required("STRIPE_SECRET_KEY"),
  password: required("BILLING_TEST_PASSWORD"),
  userEmail: required("BILLING_USER_EMAIL"),
  otherEmail: required("BILLING_OTHER_USER_EMAIL"),
  adminEmail: required("BILLING_ADMIN_EMAIL"),
  meteringToken: required("METERING_SERVICE_TOKEN"),
};

let apps = 0;

/** A Firebase app of its own (one signed-in user each), on the emulators, signed in as `email`. */
export async function signedInApp(email: string): Promise<FirebaseApp> {
  const app = initializeApp(
    { apiKey: "demo-key", projectId: stack.project, appId: "web-sdk-test" },
    `web-sdk-test-${++apps}`,
  );
  const auth = getAuth(app);
  connectAuthEmulator(auth, stack.authEmulator, { disableWarnings: true });
  const [host, port] = stack.firestoreEmulator.split(":");
  connectFirestoreEmulator(getFirestore(app), host ?? "127.0.0.1", Number(port));
  await signInWithEmailAndPassword(auth, email, stack.password);
  return app;
}

/** Pay a Razorpay order as the customer does in Checkout; returns what Checkout's handler gets. */
export async function payInCheckout(razorpayOrderId: string) {
  const response = await fetch(`${stack.razorpay}/_sandbox/orders/${razorpayOrderId}/pay`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ webhooks: false }),
  });
  if (!response.ok) throw new Error(`sandbox pay: ${response.status} ${await response.text()}`);
  return (await response.json()) as {
    razorpay_order_id: string;
    razorpay_payment_id: string;
    razorpay_signature: string;
  };
}

async function stripeApi(path: string, form: Record<string, string>): Promise<{ id: string }> {
  const response = await fetch(`${stack.stripe}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${stack.stripeKey}` },
    body: new URLSearchParams(form),
  });
  if (!response.ok) throw new Error(`stripe ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string };
}

/** A card PaymentMethod, as Stripe.js makes it in the browser (card data never reaches us). */
export async function cardPaymentMethod(number: string): Promise<string> {
  const card = {
    "card[number]": number,
    "card[exp_month]": "12",
    "card[exp_year]": "2034",
    "card[cvc]": "123",
  };
  return (await stripeApi("/v1/payment_methods", { type: "card", ...card })).id;
}

/** Confirm a PaymentIntent with a card, as Stripe.js does with the client secret (localstripe
 * takes the card in two steps: attach by update, then confirm). */
export async function confirmAsStripeJs(intentId: string, cardNumber: string): Promise<void> {
  const pm = await cardPaymentMethod(cardNumber);
  await stripeApi(`/v1/payment_intents/${intentId}`, { payment_method: pm });
  await stripeApi(`/v1/payment_intents/${intentId}/confirm`, {});
}

/** Charge the user's credits as the metering service does (not something a web app does). */
export async function chargeUsage(userId: string, service: string, amount: number): Promise<void> {
  const response = await fetch(`${stack.gateway}/api/v1/usage`, {
    method: "POST",
    headers: { Authorization: `Bearer ${stack.meteringToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      user_id: userId,
      service,
      amount,
      event_id: `evt-${crypto.randomUUID()}`,
    }),
  });
  if (response.status !== 201)
    throw new Error(`usage: ${response.status} ${await response.text()}`);
}

/** Resolve with the first value `subscribe` reports that passes `accept`, or fail after `ms`. */
export function firstMatching<T>(
  subscribe: (report: (value: T) => void, fail: (error: Error) => void) => () => void,
  accept: (value: T) => boolean,
  ms = 30_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let stop = () => {};
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`nothing matching within ${ms} ms`));
    }, ms);
    stop = subscribe(
      (value) => {
        if (!accept(value)) return;
        clearTimeout(timer);
        queueMicrotask(() => stop());
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
