/**
 * QR input: camera frames (getUserMedia → canvas → jsQR) and picked images. Frames and pixels stay
 * in memory, are overwritten by the next frame and wiped when scanning stops; nothing is recorded.
 */
import jsQRModule from 'jsqr';

// CommonJS interop: the bundler may hand us module.exports or its `.default`.
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as typeof jsQRModule.default;

/** Frames are decoded at most this often (enough for a person holding up a phone). */
const FRAME_INTERVAL_MS = 120;
/**
 * Camera frames are decoded in their centre square (what the square viewfinder shows), scaled down
 * to at most this many pixels a side: jsQR's cost grows with the pixel count, and a pass held up to
 * the camera fills most of that square.
 */
const MAX_FRAME_SIDE = 640;
/** Images larger than this (bytes) are refused before decoding. */
const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
const MAX_IMAGE_SIDE = 2048;

/** A found code and when its frame was decoded (performance.now()). */
export type OnCode = (text: string) => void;

/** Decode the region (sx, sy, sw, sh) of `source`, scaled to at most `maxSide` pixels a side. */
function decodeCanvas(canvas: HTMLCanvasElement, source: CanvasImageSource, region: readonly [number, number, number, number], maxSide: number, invert: boolean): string | null {
  const [sx, sy, sw, sh] = region;
  const scale = Math.min(1, maxSide / Math.max(sw, sh));
  const w = Math.max(1, Math.round(sw * scale));
  const h = Math.max(1, Math.round(sh * scale));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(source, sx, sy, sw, sh, 0, 0, w, h);
  const pixels = ctx.getImageData(0, 0, w, h);
  const code = jsQR(pixels.data, w, h, { inversionAttempts: invert ? 'attemptBoth' : 'dontInvert' });
  return code && code.data ? code.data : null;
}

/** Blank a canvas's pixels and release its buffer. */
function wipe(canvas: HTMLCanvasElement): void {
  canvas.getContext('2d', { willReadFrequently: true })?.clearRect(0, 0, canvas.width, canvas.height);
  canvas.width = 0;
  canvas.height = 0;
}

export class CameraScanner {
  private stream: MediaStream | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private paused = false;
  private measured = 0;
  private readonly canvas = document.createElement('canvas');

  constructor(private readonly video: HTMLVideoElement, private readonly onCode: OnCode) {}

  get running(): boolean {
    return this.stream !== null;
  }

  async start(): Promise<void> {
    if (this.stream) return;
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: false, video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } } });
    this.video.srcObject = this.stream;
    this.video.muted = true;
    this.video.setAttribute('playsinline', '');
    await this.video.play().catch(() => undefined);
    this.paused = false;
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.video.srcObject = null;
    wipe(this.canvas);
  }

  /** Stop decoding while a verdict is shown (the camera keeps running). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  private schedule(): void {
    this.timer = setTimeout(() => this.tick(), FRAME_INTERVAL_MS);
  }

  private tick(): void {
    if (!this.stream) return;
    const v = this.video;
    if (!this.paused && v.readyState >= v.HAVE_CURRENT_DATA && v.videoWidth > 0) {
      const t0 = performance.now();
      const side = Math.min(v.videoWidth, v.videoHeight);
      const region = [(v.videoWidth - side) / 2, (v.videoHeight - side) / 2, side, side] as const;
      const text = decodeCanvas(this.canvas, v, region, MAX_FRAME_SIDE, false);
      performance.measure('frame-decode', { start: t0, end: performance.now() });
      if (++this.measured % 500 === 0) performance.clearMeasures('frame-decode');
      if (text) this.onCode(text);
    }
    this.schedule();
  }
}

/** Decode the QR code in a picked image file; `null` when there is none. Throws on an unreadable image. */
export async function decodeImageFile(file: Blob): Promise<string | null> {
  if (file.size > MAX_IMAGE_BYTES) throw new Error('image too large');
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement('canvas');
  try {
    return decodeCanvas(canvas, bitmap, [0, 0, bitmap.width, bitmap.height], MAX_IMAGE_SIDE, true);
  } finally {
    bitmap.close();
    wipe(canvas);
  }
}
