// The console's one script of its own, for its plain HTML forms. It sits inline at the top of
// every page, so it works from the page's first moment, before the bundle has loaded; a browser
// without script sends the same forms with their buttons, and the server renders the same pages.
//
// A list's filters are a GET form marked `data-filters`: a choice sends it at once (a select, a
// checkbox, or a field marked `data-submit-on-change` when it is left), and the address it goes
// to leaves the empty fields out. A select changed with the keyboard applies when it is left, not
// on every arrow key, and focus comes back to where it was once the list has loaded.
//
// A table with a filter box narrows as you type.
//
// A form that posts is sent once: a second click while the first is on its way does nothing. An
// interactive part's own form waits for the page to be live.
(() => {
  const FOCUS = 'charter.focus';
  let keyed = null;
  let unsent = null;
  const filters = (field) => field && field.form && field.form.hasAttribute('data-filters') ? field.form : null;
  const send = (form, focus) => {
    if (focus && focus.name) sessionStorage.setItem(FOCUS, focus.name);
    form.requestSubmit();
  };
  document.addEventListener('keydown', (event) => {
    const field = event.target;
    if (field.tagName === 'SELECT' && filters(field) && event.key !== 'Tab') keyed = field;
  });
  document.addEventListener('change', (event) => {
    const field = event.target;
    const form = filters(field);
    if (!form) return;
    if (field === keyed) {
      unsent = field;
      return;
    }
    const choice = field.tagName === 'SELECT' || field.type === 'checkbox' || field.hasAttribute('data-submit-on-change');
    if (choice) send(form, field);
  });
  document.addEventListener('focusout', (event) => {
    const field = event.target;
    if (field !== keyed) return;
    keyed = null;
    if (unsent === field) {
      unsent = null;
      const next = event.relatedTarget && event.relatedTarget.form === field.form ? event.relatedTarget : field;
      send(field.form, next);
    }
  });
  document.addEventListener('submit', (event) => {
    const form = event.target;
    // A form of an interactive part (an island) with no address of its own does its work in the
    // bundle; sent before the page is live, it would only load the page again, without its filters.
    const live = document.documentElement.dataset.hydrated === 'true';
    if (!live && !form.hasAttribute('action') && form.closest('leptos-island')) {
      event.preventDefault();
      return;
    }
    if (form.method === 'post') {
      if (form.dataset.sending) event.preventDefault();
      form.dataset.sending = 'true';
      return;
    }
    if (!form.hasAttribute('data-filters')) return;
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form, event.submitter)) {
      if (typeof value === 'string' && value.trim() !== '') query.append(name, value);
    }
    const search = query.toString();
    window.location.assign(form.getAttribute('action') + (search ? '?' + search : ''));
  });
  // A page shown again (back, forward) may come with its forms as they were left: a post in flight,
  // a filter chosen just before the list loaded. Its filters show what its address says, which is
  // what the server wrote into them.
  window.addEventListener('pageshow', () => {
    for (const form of document.querySelectorAll('form[data-sending]')) delete form.dataset.sending;
    for (const form of document.querySelectorAll('form[data-filters]')) form.reset();
  });
  // A table narrowed as you type: an input marked `data-filter-rows` names the table, whose rows
  // carry what it searches (`data-filter-text`, lowercase); the count (`data-count-for`) and the
  // empty message (`data-empty-for`) follow. The server renders the same for the address's filter.
  const narrow = (input) => {
    const id = input.dataset.filterRows;
    const table = document.getElementById(id);
    if (!table) return;
    const needle = input.value.trim().toLowerCase();
    const rows = table.querySelectorAll('[data-filter-text]');
    let shown = 0;
    for (const row of rows) {
      row.hidden = needle !== '' && !row.dataset.filterText.includes(needle);
      if (!row.hidden) shown++;
    }
    table.hidden = shown === 0;
    const count = document.querySelector(`[data-count-for="${id}"]`);
    if (count) count.textContent = `${shown} of ${rows.length} ${count.dataset.noun}`;
    const empty = document.querySelector(`[data-empty-for="${id}"]`);
    if (empty) empty.hidden = shown > 0;
  };
  document.addEventListener('input', (event) => {
    if (event.target.dataset && event.target.dataset.filterRows) narrow(event.target);
  });
  window.addEventListener('pageshow', () => {
    for (const input of document.querySelectorAll('[data-filter-rows]')) narrow(input);
  });
  document.addEventListener('DOMContentLoaded', () => {
    const name = sessionStorage.getItem(FOCUS);
    if (!name) return;
    sessionStorage.removeItem(FOCUS);
    const field = document.querySelector(`form[data-filters] [name="${CSS.escape(name)}"]`);
    if (field) field.focus();
  });
})();
