export type Currency = 'TWD' | 'THB' | 'USD';
export type PayType = 'NORMAL' | 'PREAPPROVED';
export type ConfirmUrlType = 'CLIENT' | 'SERVER' | 'NONE';

/** Where a transaction is in LINE Pay's state model (reference §2). */
export type TransactionStatus =
  | 'RESERVED'
  | 'AUTHENTICATED'
  | 'CANCELLED'
  | 'AUTHORIZATION'
  | 'CAPTURE'
  | 'VOIDED_AUTHORIZATION';

export interface StoredPackage {
  id: string;
  /** Minor units (cents for USD). */
  amount: number;
  userFee: number;
  name?: string;
  products: { name: string; quantity: number; price: number }[];
}

export interface Refund {
  refundTransactionId: string;
  /** Minor units, positive. */
  amount: number;
  at: number;
  full: boolean;
}

/** A payment transaction, whether reserved through request or created by preapprovedPay. */
export interface Transaction {
  transactionId: string;
  orderId: string;
  payType: PayType;
  source: 'confirm' | 'preapproved';
  capture: boolean;
  currency: Currency;
  /** Minor units. */
  amount: number;
  productName: string;
  packages: StoredPackage[];
  status: TransactionStatus;
  createdAt: number;
  authenticatedAt?: number;
  /** Set when the payment was confirmed / charged. */
  transactionDate?: number;
  authorizationExpiresAt?: number;
  /** Minor units captured (capture=false may capture less than authorized). */
  capturedAmount?: number;
  redirect?: { confirmUrl?: string; cancelUrl: string; confirmUrlType: ConfirmUrlType };
  reserveId?: string;
  /** regKey issued at confirm (PREAPPROVED) or used by preapprovedPay. */
  regKey?: string;
  refunds: Refund[];
}

export interface RegKeyRecord {
  regKey: string;
  revoked: boolean;
  lastPaymentAt: number;
  issuedBy: string;
}

export interface LedgerEntry {
  kind: 'payment' | 'refund';
  /** The payment's transactionId (for refunds too; the refund's own id is `refundTransactionId`). */
  transactionId: string;
  refundTransactionId?: string;
  orderId: string;
  amount: number;
  currency: Currency;
  regKey?: string;
  at: string;
  payType: PayType;
  source: 'confirm' | 'preapproved';
}

export interface RequestLogEntry {
  method: string;
  path: string;
  orderId?: string;
  /** `null` when no LINE Pay envelope was sent (HTTP error fault, dropped before reply, 404). */
  returnCode: string | null;
  /** `0` when no reply reached the client (dropped, hung, or the client had gone by a late answer). */
  httpStatus: number;
  /**
   * For faults that apply the call and then lose or falsify the answer: the return code of the call
   * as the sandbox applied it (what really happened), whatever `returnCode` the client was sent.
   */
  committed?: string;
  fault?: string;
  at: string;
}

/** All mutable sandbox data for one channel; `reset()` empties it. */
export class SandboxStore {
  transactions = new Map<string, Transaction>();
  byReserveId = new Map<string, string>();
  /** refundTransactionId → payment transactionId */
  refunds = new Map<string, string>();
  /** orderIds used on this channel (request, preapprovedPay, and declined attempts when configured). */
  usedOrderIds = new Set<string>();
  /** orderId → transactionId of the payment created under it. */
  byOrderId = new Map<string, string>();
  regKeys = new Map<string, RegKeyRecord>();
  /** regKeys with a preapprovedPay in flight (→ 1197). */
  busyRegKeys = new Set<string>();
  seenNonces = new Set<string>();
  ledger: LedgerEntry[] = [];
  requests: RequestLogEntry[] = [];

  reset(): void {
    this.transactions.clear();
    this.byReserveId.clear();
    this.refunds.clear();
    this.usedOrderIds.clear();
    this.byOrderId.clear();
    this.regKeys.clear();
    this.busyRegKeys.clear();
    this.seenNonces.clear();
    this.ledger = [];
    this.requests = [];
  }
}

/** Money conversion: LINE Pay amounts are in major units; the store keeps integers in minor units. */
export function minorPerMajor(currency: Currency): number {
  return currency === 'USD' ? 100 : 1;
}

export function toMajor(minor: number, currency: Currency): number {
  return minor / minorPerMajor(currency);
}
