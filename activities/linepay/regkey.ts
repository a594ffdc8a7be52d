/**
 * Shortens a regKey for logs and error messages: `RK5C38F19XTF425` → `RK…F425`.
 * Keys too short to keep anything secret are fully masked.
 */
export function maskRegKey(regKey: string): string {
  if (regKey.length <= 8) return '…';
  return `${regKey.slice(0, 2)}…${regKey.slice(-4)}`;
}

/** Replaces every occurrence of `regKey` (raw or URL-encoded) in `text` with its mask. */
export function redactRegKey(text: string, regKey: string | undefined): string {
  if (!regKey) return text;
  const masked = maskRegKey(regKey);
  let out = text.split(regKey).join(masked);
  const encoded = encodeURIComponent(regKey);
  if (encoded !== regKey) out = out.split(encoded).join(masked);
  return out;
}
