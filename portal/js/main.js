// The billing portal: sign in with Firebase Auth, then every view talks to the billing service
// through the web SDK (sdk/dist/billing-client.js) as the signed-in user.
import {
  connectAuthEmulator, connectFirestoreEmulator, createBillingClient,
  createUserWithEmailAndPassword, getAuth, getFirestore, initializeApp, onAuthStateChanged,
  signInWithEmailAndPassword, signOut,
} from '../sdk/billing-client.js';
import {$, announce, busy, showError, clearError} from './ui.js';
import * as account from './account.js';
import * as purchase from './purchase.js';
import * as history from './history.js';
import * as usage from './usage.js';
import * as orders from './orders.js';
import * as invoices from './invoices.js';
import * as admin from './admin.js';

const VIEWS = [account, history, usage, orders, invoices];

async function json(path) {
  const response = await fetch(path, {cache: 'no-store'});
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return response.json();
}

/** Firebase's web config from Hosting's reserved URL; the rest from config.json. No secrets. */
async function loadConfig() {
  const [firebase, config] = await Promise.all([json('/__/firebase/init.json'), json('/config.json')]);
  return {firebase, config};
}

const SIGN_IN_PROBLEMS = {
  'auth/invalid-credential': 'Wrong email or password.',
  'auth/wrong-password': 'Wrong email or password.',
  'auth/user-not-found': 'Wrong email or password.',
  'auth/invalid-email': 'Enter a valid email address.',
  'auth/email-already-in-use': 'An account with this email exists: sign in instead.',
  'auth/weak-password': 'Choose a password of at least 6 characters.',
  'auth/missing-password': 'Enter your password.',
  'auth/network-request-failed': 'Cannot reach the sign-in service. Try again.',
};

function wireSignIn(auth) {
  const form = $('sign-in-form');
  const problem = $('sign-in-error');
  const attempt = (button, signIn) => busy(button, async () => {
    clearError(problem);
    try {
      await signIn(auth, form.email.value.trim(), form.password.value);
    } catch (error) {
      showError(problem, SIGN_IN_PROBLEMS[error.code] || 'Could not sign in. Try again.');
    }
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(form.querySelector('button[type=submit]'), signInWithEmailAndPassword);
  });
  $('create-account').addEventListener('click', (event) =>
    attempt(event.currentTarget, createUserWithEmailAndPassword));
  // A fresh page after signing out: nothing of the last account stays on screen.
  $('sign-out').addEventListener('click', () => signOut(auth).then(() => window.location.reload()));
}

function showSignedOut() {
  $('portal').hidden = true;
  $('session').hidden = true;
  $('sections-nav').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-form').reset();
}

async function showSignedIn(user, ctx) {
  let isAdmin;
  try {
    isAdmin = (await user.getIdTokenResult()).claims.admin === true;
  } catch (error) {
    $('loading').hidden = false;
    $('loading').textContent = 'Could not reach the sign-in service. Reload the page to retry.';
    return;
  }
  $('sign-in').hidden = true;
  $('signed-in-as').textContent = `Signed in as ${user.email}`;
  $('session').hidden = false;
  $('sections-nav').hidden = false;
  $('admin').hidden = !isAdmin;
  $('admin-link').hidden = !isAdmin;
  $('portal').hidden = false;
  announce(`Signed in as ${user.email}`);
  ctx.user = user;
  await Promise.all([purchase.refresh(ctx), refreshAll(ctx)]);
  document.body.dataset.ready = 'true';
}

/** Refresh every view showing the account: after sign-in and after anything changed it. */
function refreshAll(ctx) {
  return Promise.all(VIEWS.map((view) => view.refresh(ctx)));
}

async function start() {
  let firebase, config;
  try {
    ({firebase, config} = await loadConfig());
  } catch (error) {
    $('loading').textContent = 'The portal could not load its settings. Reload the page to retry.';
    return;
  }
  const app = initializeApp(firebase);
  const auth = getAuth(app);
  if (config.authEmulatorUrl) {
    connectAuthEmulator(auth, config.authEmulatorUrl, {disableWarnings: true});
  }
  // The live balance (onBalance) listens here: production Firestore by the web config, or the
  // local emulator ("host:port") under make dev. Either way the browser SDK's own transport.
  const firestore = getFirestore(app);
  if (config.firestoreEmulatorHost) {
    const at = config.firestoreEmulatorHost.lastIndexOf(':');
    connectFirestoreEmulator(firestore, config.firestoreEmulatorHost.slice(0, at),
      Number(config.firestoreEmulatorHost.slice(at + 1)));
  }
  const billing = createBillingClient({app, firestore, baseUrl: config.baseUrl});
  const ctx = {auth, billing, config, user: null, changed: () => refreshAll(ctx)};
  for (const view of [...VIEWS, purchase, admin]) view.init(ctx);
  wireSignIn(auth);
  onAuthStateChanged(auth, (user) => {
    $('loading').hidden = true;
    delete document.body.dataset.ready;
    if (user) showSignedIn(user, ctx);
    else showSignedOut();
  });
}

start();
