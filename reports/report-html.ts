import type { Block } from './report-doc.ts';

/**
 * report.html: the report blocks as one self-contained HTML file: styles inline, charts inline as
 * SVG (vega's SVG has no ids, so several charts in one page cannot clash), no script, no request
 * to the network. It opens from a CI artifact or a mail attachment as it is.
 */

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const STYLE = `
body { font-family: "DejaVu Sans", system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.3rem; }
h3 { margin-top: 1.6rem; font-size: 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.notice { border-left: 4px solid #c0392b; background: #fdf0ef; padding: 0.6rem 1rem; }
.chart { margin: 1rem 0; }
.chart svg { max-width: 100%; height: auto; }
td.FAILED, td.NOT-MEASURED { color: #c0392b; font-weight: bold; }
td.held { color: #1e7b34; }
pre { background: #f6f8fa; padding: 0.8rem; overflow-x: auto; }
`.trim();

function table(header: string[], rows: string[][], align: ('left' | 'right')[]): string {
  const th = header.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((r) => {
      const tds = r.map((c, i) => {
        const classes = [align[i] === 'right' ? 'num' : '', i === 0 && /^(held|FAILED|NOT MEASURED)$/.test(c) ? c.replace(' ', '-') : '']
          .filter(Boolean)
          .join(' ');
        return `<td${classes ? ` class="${classes}"` : ''}>${escapeHtml(c)}</td>`;
      });
      return `<tr>${tds.join('')}</tr>`;
    })
    .join('\n');
  return `<table>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function block(b: Block): string {
  switch (b.kind) {
    case 'heading':
      return `<h${b.level}>${escapeHtml(b.text)}</h${b.level}>`;
    case 'paragraph':
      return `<p>${b.label ? `<strong>${escapeHtml(b.label)}</strong> ` : ''}${escapeHtml(b.text)}</p>`;
    case 'notice':
      return `<p class="notice"><strong>${escapeHtml(b.label)}</strong> ${escapeHtml(b.text)}</p>`;
    case 'list':
      return `<ul>\n${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('\n')}\n</ul>`;
    case 'table':
      return table(b.header, b.rows, b.align);
    case 'chart':
      if (b.svg === undefined) return `<p><strong>${escapeHtml(b.title)}</strong>: not drawn (${escapeHtml(b.missing ?? 'no data')}).</p>`;
      return `<figure class="chart" aria-label="${escapeHtml(b.title)}">\n${b.svg}\n</figure>`;
    case 'code':
      return `<details><summary>${escapeHtml(b.summary)}</summary>\n<pre><code class="language-${escapeHtml(b.lang)}">${escapeHtml(b.text)}</code></pre>\n</details>`;
  }
}

export function renderReportHtml(blocks: readonly Block[], title: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>\n${STYLE}\n</style>`,
    '</head>',
    '<body>',
    ...blocks.map(block),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
