import { defineSearchAttributeKey } from '@temporalio/common';

/**
 * Typed search attributes for listing and the Web UI. They are stored in clear text by the server,
 * so they carry no secrets and no PII: the merchant's opaque customer reference, never a regKey.
 */
export const SubscriptionStatusKey = defineSearchAttributeKey('SubscriptionStatus', 'KEYWORD');
export const NextChargeAtKey = defineSearchAttributeKey('NextChargeAt', 'DATETIME');
export const CustomerIdKey = defineSearchAttributeKey('CustomerId', 'KEYWORD');
export const BillingCycleKey = defineSearchAttributeKey('BillingCycle', 'INT');
/** True while something only an operator can settle is open (unresolved charge, blocked channel). */
export const NeedsAttentionKey = defineSearchAttributeKey('NeedsAttention', 'BOOL');

export const SEARCH_ATTRIBUTE_KEYS = [
  SubscriptionStatusKey,
  NextChargeAtKey,
  CustomerIdKey,
  BillingCycleKey,
  NeedsAttentionKey,
] as const;
