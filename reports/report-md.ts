import type { Block } from './report-doc.ts';

/**
 * report.md: the report blocks as GitHub-flavoured Markdown. Charts are linked as images from
 * charts/ (the SVG files next to the report), so the Markdown stays small and diffable.
 */

/** Escapes what Markdown would otherwise read as formatting in running text. */
export function mdText(s: string): string {
  return s.replace(/([\\`*_[\]<>|#])/g, '\\$1');
}

function mdCell(s: string): string {
  return mdText(s).replace(/\n/g, ' ');
}

function table(header: string[], rows: string[][], align: ('left' | 'right')[]): string {
  const line = (cells: string[]): string => `| ${cells.map(mdCell).join(' | ')} |`;
  const rule = `|${align.map((a) => (a === 'right' ? ' ---: ' : ' --- ')).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** A fence longer than any run of backticks in the text, so the text cannot close it. */
function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(longest + 1);
}

function block(b: Block): string {
  switch (b.kind) {
    case 'heading':
      return `${'#'.repeat(b.level)} ${mdText(b.text)}`;
    case 'paragraph':
      return b.label ? `**${mdText(b.label)}** ${mdText(b.text)}` : mdText(b.text);
    case 'notice':
      return `> **${mdText(b.label)}** ${mdText(b.text)}`;
    case 'list':
      return b.items.map((i) => `- ${mdText(i)}`).join('\n');
    case 'table':
      return table(b.header, b.rows, b.align);
    case 'chart':
      if (b.missing !== undefined) return `**${mdText(b.title)}**: not drawn (${mdText(b.missing)}).`;
      return `![${mdText(b.title)}](${b.file})`;
    case 'code': {
      const f = fence(b.text);
      const body = b.text.endsWith('\n') ? b.text : `${b.text}\n`;
      return `<details><summary>${mdText(b.summary)}</summary>\n\n${f}${b.lang}\n${body}${f}\n\n</details>`;
    }
  }
}

export function renderReportMarkdown(blocks: readonly Block[]): string {
  return blocks.map(block).join('\n\n') + '\n';
}
