// Passkeys (WebAuthn) for Saufconduit pages. Same-origin script: the CSP forbids inline code.
// Buttons: <button data-passkey="login|register">, messages in data-msg-* attributes, status in
// the element named by data-status. Talks only to this site's /api endpoints.
(function () {
  'use strict';

  function toBuffer(b64url) {
    var s = b64url.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buf) {
    if (!buf) return undefined;
    var bytes = new Uint8Array(buf);
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  async function post(url, body) {
    var init = { method: 'POST', credentials: 'same-origin', headers: { accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    var res = await fetch(url, init);
    var json = await res.json().catch(function () { return null; });
    if (!res.ok) throw new Error((json && json.error && json.error.code) || String(res.status));
    return json;
  }

  function credentialJson(cred, kind) {
    var r = cred.response;
    var response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (kind === 'register') {
      response.attestationObject = toB64url(r.attestationObject);
      if (typeof r.getTransports === 'function') response.transports = r.getTransports();
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      if (r.userHandle) response.userHandle = toB64url(r.userHandle);
    }
    var json = { id: cred.id, rawId: toB64url(cred.rawId), type: cred.type, response: response, clientExtensionResults: cred.getClientExtensionResults() };
    if (cred.authenticatorAttachment) json.authenticatorAttachment = cred.authenticatorAttachment;
    return json;
  }

  async function login() {
    var start = await post('/api/auth/passkey/options');
    var o = start.options;
    var publicKey = {
      challenge: toBuffer(o.challenge), rpId: o.rpId, timeout: o.timeout, userVerification: o.userVerification,
      allowCredentials: (o.allowCredentials || []).map(function (c) { return { type: 'public-key', id: toBuffer(c.id), transports: c.transports }; }),
    };
    var cred = await navigator.credentials.get({ publicKey: publicKey });
    if (!cred) throw new Error('cancelled');
    await post('/api/auth/passkey/verify', { challengeId: start.challengeId, response: credentialJson(cred, 'login') });
    // The home page sends a logged-in person to their space, or to the page that asked them to log in.
    window.location.assign('/');
  }

  async function register() {
    var start = await post('/api/me/passkeys/options');
    var o = start.options;
    var publicKey = {
      challenge: toBuffer(o.challenge), rp: o.rp, user: { id: toBuffer(o.user.id), name: o.user.name, displayName: o.user.displayName },
      pubKeyCredParams: o.pubKeyCredParams, timeout: o.timeout, attestation: o.attestation, authenticatorSelection: o.authenticatorSelection,
      excludeCredentials: (o.excludeCredentials || []).map(function (c) { return { type: 'public-key', id: toBuffer(c.id), transports: c.transports }; }),
    };
    var cred = await navigator.credentials.create({ publicKey: publicKey });
    if (!cred) throw new Error('cancelled');
    await post('/api/me/passkeys', { challengeId: start.challengeId, response: credentialJson(cred, 'register') });
  }

  function setup() {
    var supported = typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;
    document.querySelectorAll('[data-passkey-area]').forEach(function (el) { el.hidden = !supported; });
    if (!supported) return;
    document.querySelectorAll('button[data-passkey]').forEach(function (button) {
      button.addEventListener('click', async function () {
        var status = document.getElementById(button.getAttribute('data-status') || '');
        var say = function (text, kind) {
          if (!status) return;
          status.textContent = text;
          status.setAttribute('data-state', kind);
          status.className = kind === 'error' ? 'alert' : kind === 'ok' ? 'notice' : 'muted';
        };
        button.disabled = true;
        say(button.getAttribute('data-msg-working') || '', 'working');
        try {
          if (button.getAttribute('data-passkey') === 'register') {
            await register();
            say(button.getAttribute('data-msg-ok') || '', 'ok');
          } else {
            await login();
          }
        } catch (e) {
          // A passkey is added only with a recent second factor: say how to give one.
          var stepUp = e && e.message === 'step_up_required' && button.getAttribute('data-msg-stepup');
          say(stepUp || button.getAttribute('data-msg-error') || '', 'error');
        } finally {
          button.disabled = false;
        }
      });
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setup);
  else setup();
})();
