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
