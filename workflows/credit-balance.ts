/**
 * The subscription's balance from prorated plan changes: credit from downgrades, used up by later cycle
 * charges, and prorated upgrade amounts carried to the next cycle's charge. Pure; the two are netted,
 * so at most one of them is non-zero.
 */

/** Carried in the subscription state; absent means both zero. */
export interface Balance {
  /** Owed to the customer; later cycle charges use it up. */
  credit: number;
  /** Owed by the customer; added to the next cycle's charge. */
  due: number;
}

/** What a cycle's charge is, given its plan amount and the balance. */
export interface CycleCharge {
  /** Sent to LINE Pay; 0 means the cycle is paid wholly by credit and LINE Pay is not called. */
  amount: number;
  creditApplied: number;
  dueApplied: number;
}

export function cycleCharge(planAmount: number, balance: Balance | undefined): CycleCharge {
  const due = balance?.due ?? 0;
  const gross = planAmount + due;
  const creditApplied = Math.min(balance?.credit ?? 0, gross);
  return { amount: gross - creditApplied, creditApplied, dueApplied: due };
}

/** Adds credit (positive) or a carried amount (negative credit), netting the two. */
export function addToBalance(balance: Balance | undefined, credit: number, due: number): Balance {
  const net = (balance?.credit ?? 0) - (balance?.due ?? 0) + credit - due;
  return net >= 0 ? { credit: net, due: 0 } : { credit: 0, due: -net };
}

/** The balance after a cycle charge with these amounts was paid. */
export function settleCycleCharge(balance: Balance | undefined, paid: CycleCharge): Balance {
  return {
    credit: Math.max(0, (balance?.credit ?? 0) - paid.creditApplied),
    due: Math.max(0, (balance?.due ?? 0) - paid.dueApplied),
  };
}

export function isZero(balance: Balance | undefined): boolean {
  return (balance?.credit ?? 0) === 0 && (balance?.due ?? 0) === 0;
}
