// The two admin reads the web SDK has no method for yet: find an account, page through its
// ledger (GET /api/v1/admin/accounts and /api/v1/admin/transactions). Called as the SDK calls:
// the signed-in user's ID token, errors as BillingError, lists as the SDK's page iterator.
// When the SDK gains them, this module goes and admin.js calls the SDK.
import {BillingError, pages} from '../sdk/billing-client.js';

export function adminReads(auth, baseUrl) {
  async function get(path, query) {
    const url = new URL(`${baseUrl}${path}`, window.location.href);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    let response;
    try {
      const token = await auth.currentUser.getIdToken();
      response = await fetch(url, {headers: {Authorization: `Bearer ${token}`}});
    } catch (error) {
      throw new BillingError('network_error', String(error), 0);
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const problem = body.error || {};
      throw new BillingError(problem.code || 'invalid_response',
                             problem.message || `HTTP ${response.status}`,
                             response.status, problem.details || {},
                             response.headers.get('X-Request-Id'));
    }
    return body;
  }

  return {
    /** The account of the user with this email or user_id (with its email). */
    findAccount: (query) => get('/api/v1/admin/accounts', query),
    /** That user's ledger entries, newest first, a page at a time. */
    accountTransactions: (query) =>
      pages((cursor) => get('/api/v1/admin/transactions', {...query, cursor})),
  };
}
