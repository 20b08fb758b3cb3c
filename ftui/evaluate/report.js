const D = JSON.parse(document.getElementById('data').textContent);
const $ = id => document.getElementById(id);
const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
for (const [id, list, pick] of [['ga', D.contenders, 0], ['gb', D.contenders, 1], ['gg', D.graders, 0]]) {
  list.forEach((v, i) => { const o = document.createElement('option'); o.value = v; o.textContent = v; if (i === Math.min(pick, list.length - 1)) o.selected = true; $(id).appendChild(o); });
}
let sortCol = 'diff', sortDir = -1;
function score(e, c, g) { const o = e.outputs[c]; return o && o.scores[g] != null ? o.scores[g] : null; }
function diff(e) { const g = $('gg').value, a = score(e, $('ga').value, g), b = score(e, $('gb').value, g); return a == null || b == null ? null : a - b; }
function draw() {
  const cols = ['#', 'prompt', 'reference', ...D.contenders, 'diff'];
  document.querySelector('#ex thead').innerHTML = '<tr>' + cols.map(c => `<th data-c="${esc(c)}">${esc(c)}${c === sortCol ? (sortDir > 0 ? ' ▲' : ' ▼') : ''}</th>`).join('') + '</tr>';
  document.querySelectorAll('#ex th').forEach(th => th.onclick = () => { const c = th.dataset.c; sortDir = c === sortCol ? -sortDir : -1; sortCol = c; draw(); });
  const min = parseFloat($('min').value), abs = $('abs').checked, g = $('gg').value;
  let rows = D.examples.filter(e => { const d = diff(e); if (isNaN(min)) return true; if (d == null) return false; return (abs ? Math.abs(d) : d) >= min; });
  const key = e => sortCol === 'diff' ? diff(e) : sortCol === '#' ? e.index : D.contenders.includes(sortCol) ? score(e, sortCol, g) : (sortCol === 'reference' ? e.reference : JSON.stringify(e.prompt));
  rows.sort((x, y) => { const a = key(x), b = key(y); if (a == null) return 1; if (b == null) return -1; return (a < b ? -1 : a > b ? 1 : 0) * sortDir; });
  $('count').textContent = rows.length + ' of ' + D.examples.length + ' examples';
  document.querySelector('#ex tbody').innerHTML = rows.map(e => {
    const user = [...e.prompt].reverse().find(m => m.role === 'user');
    const cells = D.contenders.map(c => { const o = e.outputs[c]; if (!o) return '<td></td>';
      const s = Object.entries(o.scores).map(([k, v]) => `${esc(k)} ${v == null ? '-' : v.toFixed(3)}`).join(', ');
      return `<td class="out"><b>${esc(s)}</b>\n${esc(o.error ? '(failed: ' + o.error + ')' : o.output)}</td>`; }).join('');
    const d = diff(e);
    return `<tr><td>${e.index + 1}</td><td class="out">${esc(user ? user.content : '')}</td><td class="out">${esc(e.reference)}</td>${cells}<td class="${d > 0 ? 'win' : d < 0 ? 'loss' : ''}">${d == null ? '-' : d.toFixed(3)}</td></tr>`;
  }).join('');
}
for (const id of ['ga', 'gb', 'gg', 'min', 'abs']) $(id).addEventListener('input', draw);
draw();
