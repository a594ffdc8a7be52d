/**
 * Model-based test (issue 8): seeded random sequences of LINE Pay outcomes, lifecycle requests,
 * worker restarts and time passing, with the billing invariants checked after each sequence.
 * Default: a short run for `npm test`. `npm run test:soak` runs many more with a random seed;
 * MODEL_SEQUENCES, MODEL_EVENTS and MODEL_SEED set it by hand (a failure prints its replay command).
 */
import { expect, it } from 'vitest';
import { useSubscriptionHarness } from '../helpers/subscription-harness.js';
import { describeFailure, modelSettings, runSequence } from '../helpers/subscription-model.js';

const t = useSubscriptionHarness('subscription-model');

const settings = modelSettings({ sequences: 10, eventsPerSequence: 12, seed: 20_240_801 });
const soak = settings.sequences > 20;

it(
  `${settings.sequences} random sequences of ${settings.eventsPerSequence} events keep the billing invariants`,
  async () => {
    const wallStart = Date.now();
    let events = 0;
    let maxRunEvents = 0;
    let runs = 0;
    const failures: string[] = [];
    const endings = new Map<string, number>();
    for (let i = 0; i < settings.sequences; i += 1) {
      const seed = settings.seed + i;
      const r = await runSequence(t.h, seed, settings.eventsPerSequence);
      events += r.events;
      runs += r.runs;
      maxRunEvents = Math.max(maxRunEvents, r.maxRunEvents);
      endings.set(r.finalStatus, (endings.get(r.finalStatus) ?? 0) + 1);
      if (r.violations.length > 0) {
        failures.push(describeFailure(r));
        console.error(describeFailure(r));
        if (!soak) break;
      }
    }
    const wall = ((Date.now() - wallStart) / 1000).toFixed(1);
    console.log(
      `model: ${settings.sequences} sequences, ${events} events, ${wall} s wall time ` +
        `(seed ${settings.seed}; ${runs} runs, largest run ${maxRunEvents} history events; ` +
        `endings ${[...endings].map(([s, n]) => `${s} ${n}`).join(', ')})`,
    );
    expect(failures, failures.join('\n\n')).toEqual([]);
  },
  soak ? 6 * 3_600_000 : 170_000,
);
