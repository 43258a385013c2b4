/**
 * The page's only script: filter the matrix rows by tag and verdict, show every prediction (not
 * only those that disagree), sort by a column. It is an
 * extra: everything it works on is already in the markup, so the page reads the same with
 * JavaScript off. It carries no data: what it needs it reads from data- attributes (escaped like
 * any text), so no untrusted string is ever inside a <script> block. Rows carry `data-verdicts`
 * (tokens from a fixed vocabulary), `data-tags` (a JSON array, parsed, never evaluated) and
 * `data-order`; cells carry `data-rank`.
 */
export const SCRIPT = `(function () {
  'use strict';
  var form = document.getElementById('filters');
  if (!form) return;
  form.hidden = false;
  form.addEventListener('submit', function (e) { e.preventDefault(); });
  var tagSel = document.getElementById('f-tag');
  var verdictSel = document.getElementById('f-verdict');
  var status = document.getElementById('f-status');
  var pred = document.getElementById('f-pred');
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr[data-row]'));
  var tagsOf = function (row) {
    if (!row._tags) { try { row._tags = JSON.parse(row.getAttribute('data-tags') || '[]'); } catch (e) { row._tags = []; } }
    return row._tags;
  };
  function apply() {
    var tag = tagSel.value, verdict = verdictSel.value, shown = 0;
    document.body.classList.toggle('show-pred', !!(pred && pred.checked));
    rows.forEach(function (row) {
      var ok = (!tag || tagsOf(row).indexOf(tag) >= 0) &&
        (!verdict || (' ' + row.getAttribute('data-verdicts') + ' ').indexOf(' ' + verdict + ' ') >= 0);
      row.hidden = !ok;
      if (ok) shown++;
    });
    Array.prototype.forEach.call(document.querySelectorAll('tbody[data-group]'), function (body) {
      body.hidden = !body.querySelector('tr[data-row]:not([hidden])');
    });
    status.textContent = shown + ' of ' + rows.length + ' targets shown';
  }
  tagSel.addEventListener('change', apply);
  verdictSel.addEventListener('change', apply);
  if (pred) pred.addEventListener('change', apply);
  form.addEventListener('reset', function () { setTimeout(apply, 0); });
  // Nothing is filtered at first: no pass over every row while the page opens.
  status.textContent = rows.length + ' of ' + rows.length + ' targets shown';

  Array.prototype.forEach.call(document.querySelectorAll('table.matrix.sortable'), function (table) {
    var heads = table.querySelectorAll('thead th[data-col]');
    Array.prototype.forEach.call(heads, function (th) {
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'sort';
      while (th.firstChild) button.appendChild(th.firstChild);
      var arrow = document.createElement('span');
      arrow.className = 'arrow';
      arrow.setAttribute('aria-hidden', 'true');
      button.appendChild(arrow);
      th.appendChild(button);
      button.addEventListener('click', function () {
        var col = Number(th.getAttribute('data-col'));
        var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
        Array.prototype.forEach.call(heads, function (other) {
          other.removeAttribute('aria-sort');
          other.querySelector('.arrow').textContent = '';
        });
        th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
        arrow.textContent = dir === 1 ? ' \\u25b2' : ' \\u25bc';
        Array.prototype.forEach.call(table.tBodies, function (body) {
          var list = Array.prototype.slice.call(body.querySelectorAll('tr[data-row]'));
          var key = function (row) {
            if (col === 0) return Number(row.getAttribute('data-order'));
            var cell = row.children[col];
            return cell ? Number(cell.getAttribute('data-rank')) : 99;
          };
          list.sort(function (a, b) {
            return dir * (key(a) - key(b)) || Number(a.getAttribute('data-order')) - Number(b.getAttribute('data-order'));
          });
          list.forEach(function (row) { body.appendChild(row); });
        });
      });
    });
  });
})();
`
