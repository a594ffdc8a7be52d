/** The LINE Pay APIs the client calls; keys for timeouts and return-code classification. */
export type LinePayApi =
  | 'request'
  | 'confirm'
  | 'preapprovedPay'
  | 'checkRegKey'
  | 'expireRegKey'
  | 'details'
  | 'checkStatus'
  | 'refund'
  | 'capture'
  | 'void';

/** Currencies LINE Pay currently lists (JPY is retired). */
export type Currency = 'USD' | 'TWD' | 'THB';

/** A LINE Pay transaction id as its exact decimal digits (19 digits, above 2^53). */
export type TransactionId = string;

export interface PaymentProduct {
  name: string;
  quantity: number;
  price: number;
  id?: string;
  imageUrl?: string;
  originalPrice?: number;
}

export interface PaymentPackage {
  id: string;
  amount: number;
  name?: string;
  userFee?: number;
  products: PaymentProduct[];
}

/** Body of `POST /v3/payments/request`; `amount` must equal the sum of the packages. */
export interface PaymentRequestBody {
  amount: number;
  currency: Currency;
  orderId: string;
  packages: PaymentPackage[];
  redirectUrls: {
    confirmUrl?: string;
    cancelUrl: string;
    confirmUrlType?: 'CLIENT' | 'SERVER' | 'NONE';
    appPackageName?: string;
  };
  options?: {
    payment?: { payType?: 'NORMAL' | 'PREAPPROVED'; capture?: boolean };
    display?: {
      locale?: 'en' | 'ja' | 'ko' | 'th' | 'zh_TW' | 'zh_CN';
      checkConfirmUrlBrowser?: boolean;
    };
    [key: string]: unknown;
  };
}

export interface PaymentRequestResult {
  transactionId: TransactionId;
  paymentAccessToken: string;
  paymentUrl: { web: string; app: string };
}

export interface PayInfo {
  method: string;
  amount: number;
  creditCardNickname?: string;
  creditCardBrand?: string;
  maskedCreditCardNumber?: string;
}

/** `info` of a successful confirm; `regKey` is present for PREAPPROVED requests only. */
export interface ConfirmInfo {
  orderId: string;
  transactionId: TransactionId;
  regKey?: string;
  authorizationExpireDate?: string;
  payInfo: PayInfo[];
  packages?: Array<{ id: string; amount: number; userFeeAmount?: number; name?: string }>;
  [key: string]: unknown;
}

export interface PreapprovedPayBody {
  productName: string;
  amount: number;
  currency: Currency;
  orderId: string;
  capture?: boolean;
}

export interface PreapprovedPayResult {
  transactionId: TransactionId;
  transactionDate: string;
  orderId?: string;
  authorizationExpireDate?: string;
}

/**
 * Outcome of a preapproved charge after recovery. `not_found` means LINE Pay was asked by orderId and
 * has no such payment: retry later with the SAME orderId.
 */
export type PreapprovedChargeResult =
  | { status: 'charged'; transactionId: TransactionId; transactionDate: string; recovered: boolean }
  | { status: 'not_found'; reason: 'unknown_outcome' | 'duplicate_order' }
  /** A payment exists under the orderId, for another amount or currency: not this charge. */
  | { status: 'mismatch'; transactionId: TransactionId; amount?: number; currency?: string };

export interface RefundListEntry {
  refundTransactionId: TransactionId;
  transactionType?: string;
  refundAmount: number;
  refundTransactionDate: string;
}

/** One entry of `GET /v3/payments`; only confirmed or captured transactions are listed. */
export interface PaymentDetail {
  transactionId: TransactionId;
  transactionDate: string;
  transactionType: 'PAYMENT' | 'PAYMENT_REFUND' | 'PARTIAL_REFUND' | (string & {});
  orderId?: string;
  payStatus?: 'AUTHORIZATION' | 'CAPTURE' | 'VOIDED_AUTHORIZATION' | 'EXPIRED_AUTHORIZATION' | (string & {});
  productName?: string;
  merchantName?: string;
  currency?: string;
  authorizationExpireDate?: string;
  payInfo?: PayInfo[];
  refundList?: RefundListEntry[];
  originalTransactionId?: TransactionId;
  [key: string]: unknown;
}

export interface PaymentDetailsQuery {
  transactionId?: string | string[];
  orderId?: string | string[];
  fields?: 'TRANSACTION' | 'ORDER' | 'ALL';
}

export type RequestStatus = 'waiting' | 'authenticated' | 'canceled_or_expired' | 'failed' | 'completed';

export interface RefundResult {
  refundTransactionId: TransactionId;
  refundTransactionDate: string;
}

export interface CaptureResult {
  orderId: string;
  transactionId: TransactionId;
  payInfo: PayInfo[];
}

export interface LinePayLogger {
  debug(msg: string, meta?: object): void;
  warn(msg: string, meta?: object): void;
}

export interface CallOptions {
  signal?: AbortSignal;
  /**
   * Epoch ms after which nobody reads the answer (an activity attempt's deadline). A call that cannot
   * get a useful read timeout before it is not sent (`not_sent`); otherwise its timeout is cut to fit.
   */
  deadline?: number;
}
