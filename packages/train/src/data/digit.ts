/*
 * MNIST's way of framing a digit, for any light-on-dark grey picture (a PNG given to `foldnet predict`, a drawing on a
 * page's canvas): crop to the ink, scale into 20x20 keeping the aspect ratio, centre by centre of mass in 28x28.
 */

/**
 * A grey image: `width * height` intensities in [0, 1], row-major, 0 = black. MNIST digits are
 * light strokes (near 1) on a dark background (0).
 *
 * @example
 * const img: GreyImage = { width: 2, height: 1, pixels: [0, 1] };
 */
export interface GreyImage {
  readonly width: number;
  readonly height: number;
  readonly pixels: ArrayLike<number>;
}

/**
 * Resizes by area averaging: each output pixel is the mean of the source area it covers
 * (partial pixels weighted by their coverage). Works for shrinking and enlarging.
 *
 * @example
 * resizeArea({ width: 2, height: 2, pixels: [0, 1, 1, 0] }, 1, 1).pixels; // [0.5]
 */
export const resizeArea = (src: GreyImage, width: number, height: number): GreyImage => {
  const out = new Float64Array(width * height);
  const sx = src.width / width;
  const sy = src.height / height;
  for (let oy = 0; oy < height; oy++) {
    const y0 = oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < width; ox++) {
      const x0 = ox * sx;
      const x1 = x0 + sx;
      let sum = 0;
      for (let y = Math.floor(y0); y < Math.min(Math.ceil(y1), src.height); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.min(Math.ceil(x1), src.width); x++) {
          const wx = Math.min(x + 1, x1) - Math.max(x, x0);
          sum += wy * wx * (src.pixels[y * src.width + x] ?? 0);
        }
      }
      out[oy * width + ox] = sum / (sx * sy);
    }
  }
  return { width, height, pixels: out };
};

/**
 * MNIST's normalisation of a light-on-dark image of any size: crop to the ink's bounding box,
 * scale to fit 20x20 keeping the aspect ratio, centre by centre of mass in 28x28. An image with
 * no ink is just resized.
 */
export const normalizeDigit = (img: GreyImage, inkThreshold = 0.2): GreyImage => {
  let x0 = img.width;
  let y0 = img.height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if ((img.pixels[y * img.width + x] ?? 0) > inkThreshold) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return resizeArea(img, 28, 28);
  const cw = x1 - x0 + 1;
  const ch = y1 - y0 + 1;
  const crop = new Float64Array(cw * ch);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) crop[y * cw + x] = img.pixels[(y + y0) * img.width + (x + x0)] ?? 0;
  const scale = 20 / Math.max(cw, ch);
  const w = Math.max(1, Math.round(cw * scale));
  const h = Math.max(1, Math.round(ch * scale));
  const small = resizeArea({ width: cw, height: ch, pixels: crop }, w, h);
  // Centre of mass of the scaled digit, then the offset that puts it at (14, 14), kept inside the frame.
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = small.pixels[y * w + x] ?? 0;
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  const clampOffset = (o: number, size: number): number => Math.min(Math.max(o, 0), 28 - size);
  const ox = clampOffset(Math.round(14 - (mass > 0 ? mx / mass : w / 2)), w);
  const oy = clampOffset(Math.round(14 - (mass > 0 ? my / mass : h / 2)), h);
  const out = new Float64Array(28 * 28);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(y + oy) * 28 + (x + ox)] = small.pixels[y * w + x] ?? 0;
  return { width: 28, height: 28, pixels: out };
};
