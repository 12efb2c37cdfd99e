// The ruler of the colour-blindness e2e test, checked against the published
// CIEDE2000 test data (Sharma, Wu & Dalal 2005, table 1).
import { describe, expect, it } from 'vitest';
import { deltaE00, difference, fillAndInk, lab } from './colour.mjs';

describe('CIEDE2000', () => {
  it.each([
    [[50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425],
    [[50, -1.3802, -84.2814], [50, 0, -82.7485], 1.0],
    [[50, 0, 0], [50, -1, 2], 2.3669],
    [[50, 2.49, -0.001], [50, -2.49, 0.0009], 7.1792],
    [[60.2574, -34.0099, 36.2677], [60.4626, -34.1751, 39.4387], 1.2644],
    [[22.7233, 20.0904, -46.694], [23.0331, 14.973, -42.5619], 2.0373],
    [[2.0776, 0.0795, -1.135], [0.9033, -0.0636, -0.5514], 0.9082],
  ])('%j vs %j is %f', (x, y, expected) => {
    expect(deltaE00(x, y)).toBeCloseTo(expected, 4);
    expect(deltaE00(y, x)).toBeCloseTo(expected, 4);
  });

  it('takes sRGB through CIELAB under D65', () => {
    const white = lab([255, 255, 255]);
    expect(white[0]).toBeCloseTo(100, 2);
    expect(Math.abs(white[1]) + Math.abs(white[2])).toBeLessThan(0.01);
    const red = lab([255, 0, 0]);
    expect(red[0]).toBeCloseTo(53.24, 1);
    expect(red[1]).toBeCloseTo(80.09, 1);
    expect(red[2]).toBeCloseTo(67.2, 1);
    expect(difference([10, 20, 30], [10, 20, 30])).toBe(0);
  });
});

describe('an element’s fill and ink', () => {
  it('are its commonest colour and the commonest clearly different one', () => {
    const px = (c, n) => Array.from({ length: n }, () => [...c, 255]).flat();
    const fill = [230, 244, 234];
    const ink = [31, 122, 58];
    const edge = [200, 230, 210]; // anti-aliasing between the two: near the fill
    const pixels = [...px(fill, 50), ...px(ink, 12), ...px(edge, 20)];
    expect(fillAndInk(pixels)).toEqual({ fill, ink });
  });
});
