import { randomBytes } from 'node:crypto';
import type {
  ChargeEventData,
  SubscriptionEvent,
  SubscriptionEventType,
} from '../../../workflows/subscription-event.js';
import { eventId, ledgerInstanceKey } from '../../../workflows/subscription-event.js';

/** Builds one subscription instance's event stream with gap-free sequences, as the workflow does. */
export class EventStream {
  readonly instanceId = randomBytes(4).toString('hex');
  /** The ledger's `instance_id` of this stream. */
  get instance(): string {
    return ledgerInstanceKey(this.subscriptionId, this.instanceId);
  }
  #sequence = 0;
  #clock = Date.parse('2026-01-01T00:00:00Z');

  constructor(readonly subscriptionId = `sub-${randomBytes(4).toString('hex')}`) {}

  orderId(cycle: number, declines = 0): string {
    return `${this.subscriptionId}-${this.instanceId}-c${cycle}${declines > 0 ? `-a${declines}` : ''}`;
  }

  next(type: SubscriptionEventType, data: Record<string, unknown> = {}): SubscriptionEvent {
    const sequence = ++this.#sequence;
    this.#clock += 60_000;
    // Keyed as the workflow keys them (subscription-state.ts `emit`).
    const instance = this.instance;
    return {
      id: eventId(instance, sequence),
      type,
      subscriptionId: this.subscriptionId,
      instanceId: instance,
      sequence,
      occurredAt: new Date(this.#clock).toISOString(),
      data,
    };
  }

  charge(
    cycle: number,
    status: 'succeeded' | 'failed' | 'refunded' = 'succeeded',
    overrides: Partial<ChargeEventData> = {},
  ): SubscriptionEvent {
    const type =
      status === 'succeeded' ? 'charge.succeeded' : status === 'failed' ? 'charge.failed' : 'charge.refunded';
    const data: ChargeEventData = {
      cycle,
      orderId: this.orderId(cycle),
      transactionId: status === 'failed' ? null : `2026${String(cycle).padStart(3, '0')}${randomDigits(12)}`,
      amount: 390,
      currency: 'TWD',
      kind: cycle === 0 ? 'approval' : 'recurring',
      status,
      returnCode: status === 'failed' ? '1283' : '0000',
      ...overrides,
    };
    return this.next(type, { ...data });
  }
}

function randomDigits(n: number): string {
  let out = '';
  for (const b of randomBytes(n)) out += String(b % 10);
  return out;
}
