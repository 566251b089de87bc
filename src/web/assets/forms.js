// Error summaries (src/web/layout.ts formErrorSummary): a link to a field moves focus into the
// field, not only the scroll (a fragment link alone leaves focus on the link), with its label in view.
'use strict';
document.addEventListener('click', (event) => {
  const link = event.target instanceof Element ? event.target.closest('a[data-error-link]') : null;
  if (!link) return;
  const input = document.getElementById(link.getAttribute('href').slice(1));
  if (!input) return;
  event.preventDefault();
  const label = document.querySelector(`label[for="${input.id}"]`);
  (label || input).scrollIntoView({ block: 'start' });
  input.focus({ preventScroll: true });
});

// A page that answers a form post and can be shown again by address (the registration code, see
// src/web/pages/registration.ts) becomes a plain visit in the history: a reload or a return to it
// reads it again instead of posting the form a second time.
if (document.querySelector('[data-replay-as-get]')) history.replaceState(null, '', location.href);
