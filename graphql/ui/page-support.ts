/**
 * Pure helpers shared by the browser pages (no DOM access, so they are unit-tested in Node).
 */

/** The API's GraphQL endpoints as seen from a page the API served. */
export function graphqlEndpoints(location: { protocol: string; host: string }): { httpUrl: string; wsUrl: string } {
  const ws = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return { httpUrl: `${location.protocol}//${location.host}/graphql`, wsUrl: `${ws}//${location.host}/graphql` };
}

/** The token of a `#token=<secret>` fragment, or undefined. */
export function tokenFromFragment(hash: string): string | undefined {
  const token = new URLSearchParams(hash.replace(/^#/, '')).get('token');
  return token === null || token === '' ? undefined : token;
}

/** A rectangle in degrees. */
export interface GeoBox {
  readonly south: number;
  readonly west: number;
  readonly north: number;
  readonly east: number;
}

/**
 * The smallest box around the points, grown by `padding` (a fraction of its size, at least
 * `minSpanDeg` wide and high) so that a single station or a row of them still gets a sensible view.
 */
export function boxAround(points: readonly { latitude: number; longitude: number }[], padding = 0.1, minSpanDeg = 0.02): GeoBox {
  if (points.length === 0) return { south: -60, west: -180, north: 75, east: 180 };
  let south = Infinity;
  let north = -Infinity;
  let west = Infinity;
  let east = -Infinity;
  for (const { latitude, longitude } of points) {
    south = Math.min(south, latitude);
    north = Math.max(north, latitude);
    west = Math.min(west, longitude);
    east = Math.max(east, longitude);
  }
  const latPad = Math.max((north - south) * padding, (minSpanDeg - (north - south)) / 2, 0);
  const lonPad = Math.max((east - west) * padding, (minSpanDeg - (east - west)) / 2, 0);
  return { south: south - latPad, north: north + latPad, west: west - lonPad, east: east + lonPad };
}

/**
 * Projects a point into a `width`×`height` drawing of `box`: equirectangular, with longitudes
 * shrunk by the cosine of the box's middle latitude so distances look right locally (a map of a
 * city or a region, not of the world), keeping the aspect ratio and centring the drawing.
 */
export function project(box: GeoBox, width: number, height: number, latitude: number, longitude: number): { x: number; y: number } {
  const midLatitude = ((box.south + box.north) / 2) * (Math.PI / 180);
  const xScale = Math.cos(midLatitude);
  const spanX = Math.max((box.east - box.west) * xScale, 1e-9);
  const spanY = Math.max(box.north - box.south, 1e-9);
  const scale = Math.min(width / spanX, height / spanY);
  const offsetX = (width - spanX * scale) / 2;
  const offsetY = (height - spanY * scale) / 2;
  return {
    x: offsetX + (longitude - box.west) * xScale * scale,
    y: offsetY + (box.north - latitude) * scale,
  };
}
