// The bench's interval of a median: the order statistics a binomial table gives.
import { describe, expect, it } from 'vitest';
import { medianInterval } from '../../bench/stats.js';

describe('medianInterval', () => {
  it('gives the exact binomial ranks (n = 100: 40th and 61st; n = 60: 22nd and 39th; n = 120: 49th and 72nd), whatever the order', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(medianInterval(hundred)).toEqual([40, 61]);
    const sixty = Array.from({ length: 60 }, (_, i) => (i * 7) % 60).map((x) => x + 1);
    expect(medianInterval(sixty)).toEqual([22, 39]);
    expect(medianInterval(Array.from({ length: 120 }, (_, i) => i + 1))).toEqual([49, 72]);
  });

  it('leaves out failed requests (NaN) and says nothing under 6 values', () => {
    expect(medianInterval([1, 2, NaN, 3])).toEqual([NaN, NaN]);
    expect(medianInterval([5, NaN, 1, 2, 3, 4, 6, 7])).toEqual([1, 7]);
  });
});
