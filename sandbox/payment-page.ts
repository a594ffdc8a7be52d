import type { SandboxState } from './state.js';
import { type Transaction, toMajor } from './store.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function formatAmount(minor: number, currency: Transaction['currency']): string {
  const major = toMajor(minor, currency);
  return `${currency === 'USD' ? major.toFixed(2) : major.toLocaleString('en-US')} ${currency}`;
}

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;display:flex;justify-content:center}
main{background:#fff;max-width:420px;width:100%;margin:40px 16px;padding:24px;border-radius:12px;box-shadow:0 2px 8px #0002}
h1{font-size:18px;margin:0 0 4px;color:#06c755}.merchant{color:#555;margin:0 0 16px}
ul{padding-left:18px}.amount{font-size:28px;font-weight:700;margin:16px 0}
.notice{background:#fff8e1;border:1px solid #ffd54f;padding:10px;border-radius:8px;font-size:14px}
.actions{display:flex;gap:12px;margin-top:20px}button{flex:1;padding:12px;border:0;border-radius:8px;font-size:16px;cursor:pointer}
#approve{background:#06c755;color:#fff}#approve-in-app{margin-top:12px;width:100%;background:#fff;color:#06c755;border:1px solid #06c755}#cancel{background:#e0e0e0}`;

function layout(title: string, content: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>${content}</main></body></html>`;
}

/** The sandbox's stand-in for LINE Pay's payment page: what the user is asked to approve. */
export function renderPaymentPage(s: SandboxState, tx: Transaction, reserveId: string): string {
  const products = tx.packages
    .flatMap((p) => p.products)
    .map((p) => `<li class="product">${escapeHtml(p.name)} × ${p.quantity}</li>`)
    .join('');
  const preapproved =
    tx.payType === 'PREAPPROVED'
      ? `<p class="notice" id="preapproved-notice">This registers your card for <strong>automatic payment (preapproved)</strong>: ${escapeHtml(s.config.merchantName)} may charge it later without asking again.</p>`
      : '';
  const hidden = `<input type="hidden" name="transactionReserveId" value="${escapeHtml(reserveId)}">`;
  return layout(
    'LINE Pay (sandbox)',
    `<h1>LINE Pay sandbox</h1>
<p class="merchant" id="merchant">${escapeHtml(s.config.merchantName)}</p>
<ul id="products">${products}</ul>
<p class="amount" id="amount">${escapeHtml(formatAmount(tx.amount, tx.currency))}</p>
${preapproved}
<div class="actions">
<form method="post" action="/web/payment/cancel">${hidden}<button id="cancel" type="submit">Cancel</button></form>
<form method="post" action="/web/payment/approve">${hidden}<button id="approve" type="submit">Approve</button></form>
</div>
<form method="post" action="/web/payment/approve">${hidden}<input type="hidden" name="app" value="1"><button id="approve-in-app" type="submit">Approve in the LINE app (no return to the merchant)</button></form>`,
  );
}

/** Shown for an unknown, expired or finished reservation. */
export function renderErrorPage(message: string): string {
  return layout(
    'LINE Pay (sandbox): error',
    `<h1>LINE Pay sandbox</h1><p id="error">${escapeHtml(message)}</p>`,
  );
}

/** Shown after approval when LINE Pay itself notifies the merchant (confirmUrlType SERVER or NONE). */
export function renderDonePage(message: string): string {
  return layout('LINE Pay (sandbox)', `<h1>LINE Pay sandbox</h1><p id="done">${escapeHtml(message)}</p>`);
}
