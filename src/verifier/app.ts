/**
 * The venue verifier, in the browser. Scans (camera, image or pasted text), verifies in the page
 * against cached trust material, shows a full-screen verdict with the name and date of birth only,
 * and wipes it after a few seconds.
 *
 * What it keeps about scanned people: nothing. No cookie, Web Storage, IndexedDB or Cache Storage
 * entry, no log line and no network request is ever made from a scan; the verdict lives in the DOM
 * and in local variables until it is cleared (DESIGN.md invariant 7, tested in test/verifier/).
 * Timing is exposed as a `verdict` performance measure (a duration, no data) for the benchmark.
 */
import { checkPass, type Verdict } from './check.ts';
import { freshness } from './trust.ts';
import { TrustKeeper } from './keeper.ts';
import { CameraScanner, decodeImageFile } from './scanner.ts';
import { formatAge, formatDob, formatUntil, preferredLang, reasonKey, translator, type MessageKey, type Translate, type VerifierLang } from './i18n.ts';

/** How long a verdict stays on screen. */
const VERDICT_MS = 5_000;
/** Trust material is refreshed this often while online. */
const REFRESH_MS = 5 * 60_000;
/** The freshness line (and the refusal rule) is re-evaluated this often. */
const TICK_MS = 30_000;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let lang: VerifierLang = preferredLang(navigator.languages ?? [navigator.language]);
let t: Translate = translator(lang);
let verdictTimer: ReturnType<typeof setTimeout> | null = null;
let busy = false;
let verdicts = 0;
/** Timing entries are dropped after this many verdicts. */
const MAX_MEASURES = 5_000;

const keeper = new TrustKeeper(renderTrust);
const camera = new CameraScanner($<HTMLVideoElement>('video'), (text) => void handle(text));

function applyLanguage(): void {
  document.documentElement.lang = lang;
  document.title = `Saufconduit — ${t('title')}`;
  document.querySelectorAll<HTMLElement>('[data-t]').forEach((el) => (el.textContent = t(el.dataset.t as MessageKey)));
  $('lang').lang = t('switchLangCode');
  $('camera').textContent = t(camera.running ? 'stopCamera' : 'startCamera');
  renderTrust();
}

/** The freshness line, and the blocking screen when no verdict may be given. */
function renderTrust(): void {
  const line = $('trust');
  const blocked = $('blocked');
  const s = keeper.state;
  let message: string;
  let state: string;
  if (s.kind === 'loading') [state, message] = ['loading', t('trustLoading')];
  else if (s.kind === 'none') [state, message] = [s.refused ? 'refused' : 'none', t(s.refused ? 'trustRefused' : 'trustNone')];
  else {
    const f = freshness(s.bundle, new Date());
    if (f.state === 'fresh') [state, message] = ['fresh', t('trustFresh', { age: formatAge(t, f.ageSeconds), until: formatUntil(lang, s.bundle.exp) })];
    else if (f.state === 'expired') [state, message] = keeper.refused ? ['refused', t('trustRefused')] : ['expired', t('trustExpired', { age: formatAge(t, f.ageSeconds) })];
    else [state, message] = ['clock', t('trustClock')];
  }
  line.dataset.state = state;
  line.textContent = message;
  const usable = state === 'fresh' || state === 'loading';
  blocked.hidden = usable;
  $('blocked-reason').textContent = usable ? '' : message;
  $('scan').hidden = !usable;
  if (!usable && camera.running) {
    camera.stop();
    $('viewfinder').hidden = true;
    $('camera').textContent = t('startCamera');
  }
  $('offline').hidden = navigator.onLine && !keeper.unreachable;
}

function notice(key: MessageKey | null): void {
  $('notice').textContent = key ? t(key) : '';
}

/** One scanned text → verdict on screen. The text is dropped as soon as it is verified. */
async function handle(text: string): Promise<void> {
  if (busy || keeper.state.kind !== 'ready') return;
  busy = true;
  camera.pause();
  const decodedAt = performance.now();
  let verdict: Verdict | null = await checkPass(text, keeper.state.bundle, new Date());
  text = '';
  if (verdict.verdict === 'refused') {
    // Trust material went stale while the app was open: the blocking screen, never green or red.
    renderTrust();
    busy = false;
    camera.resume();
    return;
  }
  showVerdict(verdict);
  verdict = null;
  // Durations only, but a device may scan all day: keep the timeline bounded.
  if (++verdicts % MAX_MEASURES === 0) ['verdict', 'verdict-painted', 'frame-decode'].forEach((m) => performance.clearMeasures(m));
  performance.measure('verdict', { start: decodedAt, end: performance.now() });
  // And to the first frame painted with it (next animation frame, then after its paint).
  requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => performance.measure('verdict-painted', { start: decodedAt, end: performance.now() });
    channel.port2.postMessage(null);
  });
}

function showVerdict(v: Exclude<Verdict, { verdict: 'refused' }>): void {
  const box = $('verdict');
  const valid = v.verdict === 'valid';
  box.dataset.verdict = v.verdict;
  box.querySelector('.verdict-icon')!.textContent = valid ? '✓' : '✗';
  box.querySelector('.verdict-title')!.textContent = t(valid ? 'valid' : 'invalid');
  box.querySelector('.verdict-name')!.textContent = valid ? v.name : '';
  box.querySelector('.verdict-dob')!.textContent = valid ? t('born', { dob: formatDob(lang, v.dob) }) : '';
  box.querySelector('.verdict-reason')!.textContent = valid ? '' : t(reasonKey(v.category));
  // No focus(): it would force a synchronous layout; the section is a live alert region instead.
  box.hidden = false;
  verdictTimer = setTimeout(clearVerdict, VERDICT_MS);
}

/** Wipe the verdict from the screen and memory, and scan again. */
function clearVerdict(): void {
  if (verdictTimer) clearTimeout(verdictTimer);
  verdictTimer = null;
  const box = $('verdict');
  box.hidden = true;
  delete box.dataset.verdict;
  box.querySelectorAll('.verdict-icon, .verdict-title, .verdict-name, .verdict-dob, .verdict-reason').forEach((el) => (el.textContent = ''));
  busy = false;
  camera.resume();
}

async function toggleCamera(): Promise<void> {
  if (camera.running) {
    camera.stop();
  } else {
    try {
      await camera.start();
      notice('cameraHint');
    } catch {
      camera.stop();
      notice('cameraUnavailable');
    }
  }
  $('viewfinder').hidden = !camera.running;
  $('camera').textContent = t(camera.running ? 'stopCamera' : 'startCamera');
}

function wire(): void {
  $('lang').addEventListener('click', () => {
    lang = lang === 'fr' ? 'en' : 'fr';
    t = translator(lang);
    applyLanguage();
  });
  $('camera').addEventListener('click', () => void toggleCamera());
  $('verdict').addEventListener('click', clearVerdict);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !$('verdict').hidden) clearVerdict();
  });
  const image = $<HTMLInputElement>('image');
  image.addEventListener('change', async () => {
    const file = image.files?.[0];
    image.value = '';
    if (!file) return;
    notice(null);
    try {
      const text = await decodeImageFile(file);
      if (text) await handle(text);
      else notice('noCodeInImage');
    } catch {
      notice('imageUnreadable');
    }
  });
  const form = $<HTMLFormElement>('paste-form');
  const area = $<HTMLTextAreaElement>('paste-text');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = area.value;
    area.value = '';
    if (text.trim()) void handle(text);
  });
  // The camera is released when the page is hidden and offered again when it comes back.
  document.addEventListener('visibilitychange', () => {
    if (document.hidden && camera.running) {
      camera.stop();
      $('viewfinder').hidden = true;
      $('camera').textContent = t('startCamera');
    }
    if (!document.hidden) void keeper.refresh();
  });
  addEventListener('online', () => {
    renderTrust();
    void keeper.refresh();
  });
  addEventListener('offline', renderTrust);
  setInterval(renderTrust, TICK_MS);
  setInterval(() => {
    if (navigator.onLine) void keeper.refresh();
  }, REFRESH_MS);
}

function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  const hadController = Boolean(navigator.serviceWorker.controller);
  // A new version took over: reload into it, unless a verdict is on screen (then after it clears).
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!hadController) return;
    const reload = () => (busy ? setTimeout(reload, 1000) : location.reload());
    reload();
  });
  navigator.serviceWorker.register('/verify/sw.js', { scope: '/verify/' }).catch(() => undefined);
}

wire();
applyLanguage();
registerServiceWorker();
void keeper.start();
