import { describe, expect, it } from 'vitest';
import { parseDuration, parseDurationParts } from '../../workflows/duration.js';

describe('parseDurationParts', () => {
  it('reads every part as written', () => {
    expect(parseDurationParts('P1Y2M3W4DT5H6M7.5S')).toEqual({
      years: 1,
      months: 2,
      weeks: 3,
      days: 4,
      hours: 5,
      minutes: 6,
      seconds: 7.5,
    });
  });

  it('fills missing parts with zero', () => {
    expect(parseDurationParts('P1M')).toEqual({
      years: 0,
      months: 1,
      weeks: 0,
      days: 0,
      hours: 0,
      minutes: 0,
      seconds: 0,
    });
    expect(parseDurationParts('PT1M')).toEqual({
      years: 0,
      months: 0,
      weeks: 0,
      days: 0,
      hours: 0,
      minutes: 1,
      seconds: 0,
    });
  });

  it.each([
    '',
    'P',
    'PT',
    'P1DT',
    '1M',
    'P1.5M',
    'P1.5D',
    '-P1D',
    'P-1D',
    'pt1s',
    'PT1.2345S',
    'P1H',
    'PT1D',
    ' P1D',
    'P1D ',
    'P1M1Y',
  ])('rejects %j', (text) => {
    expect(() => parseDurationParts(text)).toThrow(
      `"${text}" is not an ISO-8601 duration such as P1M or PT30S`,
    );
  });
});

describe('parseDuration', () => {
  it.each([
    ['PT20M', 1_200_000],
    ['P1D', 86_400_000],
    ['P7D', 604_800_000],
    ['P1W', 604_800_000],
    ['P1W1D', 691_200_000],
    ['PT1H', 3_600_000],
    ['PT30S', 30_000],
    ['PT0.5S', 500],
    ['PT1.25S', 1_250],
    ['PT0.001S', 1],
    ['PT4.35S', 4_350],
    ['P1DT1H1M1.5S', 90_061_500],
    ['PT0S', 0],
    ['P0D', 0],
  ])('%s = %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['P1M', 'P1Y', 'P1Y1D', 'P2M', 'P1MT1S'])(
    'refuses %s (months/years have no fixed length)',
    (text) => {
      expect(() => parseDuration(text)).toThrow(`"${text}" uses months or years, which have no fixed length`);
    },
  );

  it('accepts explicit zero years and months', () => {
    expect(parseDuration('P0Y0M1D')).toBe(86_400_000);
  });

  it('rejects malformed text with the parser message', () => {
    expect(() => parseDuration('20 minutes')).toThrow('"20 minutes" is not an ISO-8601 duration');
  });
});
