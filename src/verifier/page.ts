/**
 * The verifier's single HTML page (the app shell the service worker caches). Static: no per-request
 * content, no inline script or style (strict CSP). Labels are in French here and rewritten by the
 * script in the device's language.
 */
export function verifierPage(assetVersion: string): string {
  const v = encodeURIComponent(assetVersion);
  return `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#1d4e89">
<meta name="referrer" content="no-referrer">
<title>Saufconduit — Vérification du passe</title>
<link rel="manifest" href="/verify/manifest.webmanifest">
<link rel="icon" href="/verify/icon.svg" type="image/svg+xml">
<link rel="apple-touch-icon" href="/verify/icon-192.png">
<link rel="stylesheet" href="/verify/app.css?v=${v}">
<script src="/verify/app.js?v=${v}" defer></script>
</head>
<body>
<header class="bar">
  <h1 data-t="title">Vérification du passe</h1>
  <span id="offline" class="pill" data-t="offline" hidden>Hors ligne</span>
  <button id="lang" type="button" class="link" data-t="switchLang" lang="en">English</button>
</header>
<p id="trust" class="trust" role="status" data-state="loading" data-t="trustLoading">Chargement des listes de confiance…</p>
<main id="scan">
  <div class="viewfinder" id="viewfinder" hidden><video id="video" muted playsinline></video></div>
  <p id="notice" class="notice" role="status"></p>
  <div class="actions">
    <button id="camera" type="button" class="primary" data-t="startCamera">Scanner avec la caméra</button>
    <label class="button" for="image" data-t="pickImage">Lire une image</label>
    <input id="image" type="file" accept="image/*" class="visually-hidden">
  </div>
  <details id="paste">
    <summary data-t="pasteSummary">Coller le texte du code</summary>
    <form id="paste-form" autocomplete="off">
      <label for="paste-text" data-t="pasteLabel">Texte du QR code (HC1:…)</label>
      <textarea id="paste-text" rows="4" maxlength="8192" spellcheck="false" autocomplete="off" autocapitalize="off"></textarea>
      <button type="submit" data-t="check">Vérifier</button>
    </form>
  </details>
  <p class="privacy" data-t="privacy">Rien n’est enregistré ni envoyé sur les personnes contrôlées.</p>
</main>
<section id="verdict" class="verdict" hidden role="alert">
  <p class="verdict-icon" aria-hidden="true"></p>
  <h2 class="verdict-title"></h2>
  <p class="verdict-name"></p>
  <p class="verdict-dob"></p>
  <p class="verdict-reason"></p>
  <p class="verdict-dismiss" data-t="dismiss">Toucher pour continuer</p>
  <div class="verdict-timer"></div>
</section>
<section id="blocked" class="blocked" hidden aria-live="assertive">
  <h2 data-t="blockedTitle">Vérification impossible</h2>
  <p id="blocked-reason"></p>
</section>
<noscript><p>JavaScript est nécessaire / JavaScript is required.</p></noscript>
</body>
</html>
`;
}
