import { describe, expect, it } from 'vitest';
import { boxAround, graphqlEndpoints, project, tokenFromFragment } from './page-support.js';

describe('graphqlEndpoints', () => {
  it('derives the HTTP and WebSocket endpoints from the page, wss behind https', () => {
    expect(graphqlEndpoints({ protocol: 'http:', host: '127.0.0.1:4000' })).toEqual({
      httpUrl: 'http://127.0.0.1:4000/graphql',
      wsUrl: 'ws://127.0.0.1:4000/graphql',
    });
    expect(graphqlEndpoints({ protocol: 'https:', host: 'api.example' }).wsUrl).toBe('wss://api.example/graphql');
  });
});

describe('tokenFromFragment', () => {
  it('reads #token=, and nothing from other fragments', () => {
    expect(tokenFromFragment('#token=mf_abc-_123')).toBe('mf_abc-_123');
    expect(tokenFromFragment('#view=map&token=t1')).toBe('t1');
    expect(tokenFromFragment('#token=')).toBeUndefined();
    expect(tokenFromFragment('')).toBeUndefined();
  });
});

describe('boxAround and project', () => {
  const minsk = { latitude: 53.9, longitude: 27.56 };
  const brest = { latitude: 52.1, longitude: 23.7 };

  it('frames the points with padding, and gives a lone point a minimum span', () => {
    const box = boxAround([minsk, brest]);
    expect(box.south).toBeLessThan(52.1);
    expect(box.north).toBeGreaterThan(53.9);
    expect(box.west).toBeLessThan(23.7);
    expect(box.east).toBeGreaterThan(27.56);
    const lone = boxAround([minsk]);
    expect(lone.north - lone.south).toBeCloseTo(0.02);
    expect(lone.east - lone.west).toBeCloseTo(0.02);
  });

  it('puts north up and east right, inside the drawing', () => {
    const box = boxAround([minsk, brest]);
    const a = project(box, 800, 600, minsk.latitude, minsk.longitude);
    const b = project(box, 800, 600, brest.latitude, brest.longitude);
    expect(a.x).toBeGreaterThan(b.x);
    expect(a.y).toBeLessThan(b.y);
    for (const { x, y } of [a, b]) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(800);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(y).toBeLessThanOrEqual(600);
    }
  });

  it('keeps distances true locally: a degree of longitude is cos(latitude) of a degree of latitude', () => {
    const box = { south: 59, north: 61, west: 9, east: 11 };
    const origin = project(box, 1000, 1000, 60, 10);
    const east = project(box, 1000, 1000, 60, 10.1);
    const north = project(box, 1000, 1000, 60.1, 10);
    expect((east.x - origin.x) / (origin.y - north.y)).toBeCloseTo(Math.cos((60 * Math.PI) / 180), 5);
  });
});
