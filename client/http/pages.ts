/** The small HTML pages a customer lands on after LINE Pay sends the browser back to us. */
export type PageTone = 'active' | 'pending' | 'canceled' | 'error';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const COLORS: Record<PageTone, string> = {
  active: '#06c755',
  pending: '#f5a623',
  canceled: '#8a8a8a',
  error: '#e0393e',
};

export interface ResultPage {
  tone: PageTone;
  title: string;
  message: string;
  /** Machine-readable outcome for tests and support: the subscription status or an error code. */
  status: string;
  subscriptionId?: string;
}

/** Renders a self-contained result page (no scripts, no external assets). */
export function renderResultPage(page: ResultPage): string {
  const sub = page.subscriptionId
    ? `<p class="ref">Subscription <code>${escapeHtml(page.subscriptionId)}</code></p>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(page.title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Noto Sans TC",sans-serif;background:#f4f5f7;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:32px 40px;max-width:480px;border-top:6px solid ${COLORS[page.tone]}}
h1{font-size:1.4rem;margin:0 0 12px}
p{line-height:1.5;color:#333}
.ref{color:#777;font-size:.85rem}
</style>
</head>
<body>
<main id="result" data-status="${escapeHtml(page.status)}" data-tone="${page.tone}">
<h1>${escapeHtml(page.title)}</h1>
<p id="message">${escapeHtml(page.message)}</p>
${sub}
</main>
</body>
</html>
`;
}
