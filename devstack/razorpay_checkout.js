// A stand-in for Razorpay Checkout (https://checkout.razorpay.com/v1/checkout.js), served by the
// local Razorpay sandbox (devstack/razorpay_sandbox.py) at /checkout.razorpay.com/v1/checkout.js.
// Same interface as Checkout's, so a page runs its production code against it:
//   const rzp = new Razorpay({key, order_id, amount, currency, name, description, prefill,
//                             handler, modal: {ondismiss, escape}});
//   rzp.on('payment.failed', response => response.error.{code, description, source, step, reason,
//                                                        metadata.{order_id, payment_id}});
//   rzp.open(); rzp.close();
// The dialog plays the customer and the bank, as Razorpay's test mode does: "Success" pays the
// order in the sandbox (which signs the result and sends its webhooks), "Failure" fails a payment.
(function () {
  const BASE = (function () {
    const src = document.currentScript.src;
    return src.replace(/\/checkout\.razorpay\.com\/v1\/checkout\.js(\?.*)?$/, '');
  })();

  function money(amount, currency) {
    // Minor units to a display string with integer arithmetic only.
    const minor = Math.abs(amount) % 100;
    const major = (Math.abs(amount) - minor) / 100;
    const symbol = currency === 'INR' ? '₹' : `${currency} `;
    return `${amount < 0 ? '-' : ''}${symbol}${major.toLocaleString('en-IN')}.` +
      String(minor).padStart(2, '0');
  }

  async function sandbox(path, body) {
    const response = await fetch(`${BASE}${path}`, {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw Object.assign(new Error('sandbox refused'), {answer});
    }
    return answer;
  }

  function failureOf(payment, orderId) {
    return {
      error: {
        code: payment.error_code || 'BAD_REQUEST_ERROR',
        description: payment.error_description || 'Payment failed',
        source: payment.error_source || 'customer',
        step: payment.error_step || 'payment_authentication',
        reason: payment.error_reason || 'payment_failed',
        metadata: {order_id: orderId, payment_id: payment.id},
      },
    };
  }

  class Razorpay {
    constructor(options) {
      if (!options || !options.key) {
        throw new Error('Razorpay: the key option is required');
      }
      this.options = options;
      this.listeners = {};
      this.dialog = null;
    }

    on(event, callback) {
      (this.listeners[event] = this.listeners[event] || []).push(callback);
    }

    emit(event, payload) {
      (this.listeners[event] || []).forEach(callback => callback(payload));
    }

    open() {
      if (this.dialog) return;
      const o = this.options;
      const dialog = document.createElement('dialog');
      dialog.className = 'razorpay-sandbox-checkout';
      dialog.setAttribute('aria-labelledby', 'razorpay-sandbox-title');
      Object.assign(dialog.style, {
        maxWidth: '22rem', border: '2px solid #0b62c4', borderRadius: '8px', padding: '1rem',
        font: '16px system-ui, sans-serif', color: '#111', background: '#fff',
      });
      const title = document.createElement('h2');
      title.id = 'razorpay-sandbox-title';
      title.textContent = `${o.name || 'Checkout'} · Razorpay (local sandbox)`;
      title.style.fontSize = '1.1rem';
      const about = document.createElement('p');
      about.textContent = `${o.description || 'Payment'}: ${money(o.amount || 0, o.currency || 'INR')}`;
      const status = document.createElement('p');
      status.setAttribute('role', 'status');
      const buttons = document.createElement('div');
      Object.assign(buttons.style, {display: 'flex', gap: '0.5rem', flexWrap: 'wrap'});
      const button = (label, onClick) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = label;
        Object.assign(b.style, {font: 'inherit', padding: '0.5rem 0.9rem', minHeight: '44px'});
        b.addEventListener('click', onClick);
        buttons.appendChild(b);
        return b;
      };
      const pay = button('Success', () => this.pay(status));
      button('Failure', () => this.fail(status));
      button('Cancel', () => this.dismiss());
      dialog.append(title, about, status, buttons);
      dialog.addEventListener('cancel', event => {
        event.preventDefault();
        if (!o.modal || o.modal.escape !== false) this.dismiss();
      });
      document.body.appendChild(dialog);
      dialog.showModal();
      pay.focus();
      this.dialog = dialog;
    }

    close() {
      if (!this.dialog) return;
      this.dialog.close();
      this.dialog.remove();
      this.dialog = null;
    }

    dismiss() {
      this.close();
      const modal = this.options.modal || {};
      if (typeof modal.ondismiss === 'function') modal.ondismiss();
    }

    async pay(status) {
      const o = this.options;
      status.textContent = 'Processing…';
      try {
        const result = await sandbox(`/_sandbox/orders/${encodeURIComponent(o.order_id)}/pay`, {
          key_id: o.key,
          email: (o.prefill || {}).email,
          contact: (o.prefill || {}).contact,
        });
        this.close();
        o.handler({
          razorpay_payment_id: result.razorpay_payment_id,
          razorpay_order_id: result.razorpay_order_id,
          razorpay_signature: result.razorpay_signature,
        });
      } catch (error) {
        status.textContent = (error.answer && error.answer.error &&
          error.answer.error.description) || 'Payment could not be started';
      }
    }

    async fail(status) {
      const o = this.options;
      status.textContent = 'Processing…';
      try {
        const payment = await sandbox(`/_sandbox/orders/${encodeURIComponent(o.order_id)}/fail`, {
          key_id: o.key,
          error_description: 'Payment failed because the bank declined it',
          error_reason: 'payment_failed',
        });
        // Checkout stays open after a failure, so the customer can try again or close it.
        status.textContent = 'Payment failed. Try again or cancel.';
        this.emit('payment.failed', failureOf(payment, o.order_id));
      } catch (error) {
        status.textContent = 'Payment could not be started';
      }
    }
  }

  window.Razorpay = Razorpay;
})();
