// Tessera's pages work without this script; it only adds conveniences.
// - <button data-copy="ID">: copies the text of element ID to the clipboard.
// - <form data-confirm="TEXT">: asks before submitting (the server asks again where it matters).
// - <select data-autosubmit>: submits its form when changed.
'use strict';
document.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-copy]');
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = 'Copy'; }, 2000);
  });
});
document.addEventListener('submit', (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
document.addEventListener('change', (event) => {
  if (event.target.matches('select[data-autosubmit]')) event.target.form.requestSubmit();
});
document.querySelectorAll('[data-copy]').forEach((button) => { button.hidden = !navigator.clipboard; });
