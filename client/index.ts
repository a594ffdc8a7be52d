/** The client library: what a merchant backend imports to run subscriptions. */

export type {
  ConfirmResult,
  PaymentUrl,
  SubscriptionStatus,
  SubscriptionView,
} from '../workflows/messages.js';
export {
  type BillingLimits,
  DEFAULT_BILLING_LIMITS,
  DEFAULT_MAX_AMOUNTS,
} from '../workflows/subscription-input.js';
export {
  type CodecServerConfig,
  ConfigError,
  type Env,
  type LinePayEnv,
  readBillingLimits,
  readEncryptionKeys,
  readLinePayEnv,
  readPublicBaseUrl,
  readServerConfig,
  readTemporalSettings,
  type ServerConfig,
  type TemporalSettings,
} from './config.js';
export {
  ConflictError,
  InternalError,
  isSubscriptionError,
  NotFoundError,
  RejectedError,
  SubscriptionError,
  type SubscriptionErrorCode,
  UnavailableError,
  ValidationError,
} from './errors.js';
export {
  buildListQuery,
  type CreateSubscriptionRequest,
  type CreateSubscriptionResult,
  createSubscriptionsClient,
  type ListSubscriptionsOptions,
  redirectUrlsFor,
  requestFingerprint,
  type SubscriptionListItem,
  type SubscriptionsClient,
  type SubscriptionsClientOptions,
} from './subscriptions-client.js';
export { connectClient, isTemporalReachable } from './temporal/connection.js';
export { createDataConverter } from './temporal/data-converter.js';
export {
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  type EncryptionKey,
  KEY_ID_METADATA,
  PayloadDecryptionError,
} from './temporal/payload-codec.js';
