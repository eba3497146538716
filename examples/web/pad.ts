import type { GreyImage } from '@foldnet/train';

/*
 * The drawing pad: white ink on black, as MNIST's digits are, drawn with a mouse, a pen or a finger. `image()` gives
 * the pad as a grey image (luminance in [0, 1]) for normalizeDigit to frame as MNIST frames its digits.
 */

/** Makes `canvas` a drawing pad; `onStroke` is called as each stroke goes on and when it ends. */
export const drawingPad = (canvas: HTMLCanvasElement, onStroke: () => void): { readonly clear: () => void; readonly image: () => GreyImage; readonly drawn: () => boolean } => {
  const g = canvas.getContext('2d', { willReadFrequently: true });
  if (g === null) throw new Error('the drawing pad has no 2D context');
  let last: { x: number; y: number } | undefined;
  let drawn = false;
  const clear = (): void => {
    g.fillStyle = '#000';
    g.fillRect(0, 0, canvas.width, canvas.height);
    drawn = false;
  };
  const at = (e: PointerEvent): { x: number; y: number } => {
    const r = canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * canvas.width) / r.width, y: ((e.clientY - r.top) * canvas.height) / r.height };
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = at(e);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (last === undefined) return;
    const p = at(e);
    // a stroke about as thick, against the pad, as MNIST's pen strokes are against their 28x28 frame
    g.strokeStyle = '#fff';
    g.lineWidth = canvas.width / 13;
    g.lineCap = 'round';
    g.beginPath();
    g.moveTo(last.x, last.y);
    g.lineTo(p.x, p.y);
    g.stroke();
    last = p;
    drawn = true;
    onStroke();
  });
  const end = (): void => {
    if (last === undefined) return;
    last = undefined;
    onStroke();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  clear();
  return {
    clear,
    drawn: () => drawn,
    image: () => {
      const { data, width, height } = g.getImageData(0, 0, canvas.width, canvas.height);
      const pixels = new Float64Array(width * height);
      for (let i = 0; i < pixels.length; i++) pixels[i] = (0.299 * (data[4 * i] ?? 0) + 0.587 * (data[4 * i + 1] ?? 0) + 0.114 * (data[4 * i + 2] ?? 0)) / 255;
      return { width, height, pixels };
    },
  };
};
