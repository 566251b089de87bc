/**
 * PNG icons for the installable verifier (browsers want 192 and 512 px raster icons in the
 * manifest), drawn from the same shapes as src/web/assets/icon.svg: a white shield with a check
 * mark on the brand blue. Full-bleed square, with the shield inside the maskable safe zone, so one
 * image serves as both `any` and `maskable`. Rendered once at build time with pngjs.
 */
import { PNG } from 'pngjs';

type Point = readonly [number, number];

const BLUE = [0x1d, 0x4e, 0x89] as const;
const WHITE = [0xff, 0xff, 0xff] as const;

/** Cubic Bézier from p0 to p3, as `steps` points (p0 excluded). */
function cubic(p0: Point, p1: Point, p2: Point, p3: Point, steps: number): Point[] {
  const out: Point[] = [];
  for (let i = 1; i <= steps; i++) {
    const t = i / steps;
    const u = 1 - t;
    out.push([u * u * u * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t * t * t * p3[0], u * u * u * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t * t * t * p3[1]]);
  }
  return out;
}

/** icon.svg's shield, `M16 6l8 3v6c0 6-3.5 9.5-8 11-4.5-1.5-8-5-8-11V9z`, in its 32-unit box. */
const SHIELD: Point[] = [[16, 6], [24, 9], [24, 15], ...cubic([24, 15], [24, 21], [20.5, 24.5], [16, 26], 24), ...cubic([16, 26], [11.5, 24.5], [8, 21], [8, 15], 24), [8, 9]];
/** icon.svg's check mark, `M12 16l3 3 5-6`, stroke width 2.4, round caps and joins. */
const CHECK: Point[] = [[12, 16], [15, 19], [20, 13]];
const CHECK_HALF_WIDTH = 1.2;

function segmentDistance(x: number, y: number, a: Point, b: Point): number {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const t = Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - a[0] - t * dx, y - a[1] - t * dy);
}

/** x positions where a horizontal line at `y` crosses the shield outline, sorted. */
function crossings(y: number): number[] {
  const xs: number[] = [];
  for (let i = 0; i < SHIELD.length; i++) {
    const a = SHIELD[i]!;
    const b = SHIELD[(i + 1) % SHIELD.length]!;
    if ((a[1] <= y) !== (b[1] <= y)) xs.push(a[0] + ((y - a[1]) / (b[1] - a[1])) * (b[0] - a[0]));
  }
  return xs.sort((p, q) => p - q);
}

/** The icon as a `size`×`size` PNG (3×3 supersampled). */
export function iconPng(size: number): Buffer {
  const png = new PNG({ width: size, height: size });
  const ss = 3;
  const unit = 32 / (size * ss);
  for (let py = 0; py < size; py++) {
    const rows = Array.from({ length: ss }, (_, j) => {
      const y = (py * ss + j + 0.5) * unit;
      return { y, xs: crossings(y) };
    });
    for (let px = 0; px < size; px++) {
      let white = 0;
      for (const { y, xs } of rows) {
        for (let i = 0; i < ss; i++) {
          const x = (px * ss + i + 0.5) * unit;
          let inside = false;
          for (const cx of xs) if (cx < x) inside = !inside;
          if (inside && segmentDistance(x, y, CHECK[0]!, CHECK[1]!) > CHECK_HALF_WIDTH && segmentDistance(x, y, CHECK[1]!, CHECK[2]!) > CHECK_HALF_WIDTH) white++;
        }
      }
      const f = white / (ss * ss);
      const o = (py * size + px) * 4;
      for (let c = 0; c < 3; c++) png.data[o + c] = Math.round(BLUE[c]! * (1 - f) + WHITE[c]! * f);
      png.data[o + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}
