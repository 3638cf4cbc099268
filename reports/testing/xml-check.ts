/**
 * A small XML well-formedness check for tests (SVG charts, JUnit files): every tag closes in order,
 * attributes are quoted and not repeated, entities are the five XML ones or numeric, one root.
 * Not a validating parser: enough to catch a truncated file, a stray `<` or a broken escape.
 * Returns the root element's name and attributes.
 */
export interface XmlRoot {
  name: string;
  attributes: Record<string, string>;
  elements: number;
}

const NAME = '[A-Za-z_][\\w.:-]*';
const ATTR = new RegExp(`\\s+(${NAME})\\s*=\\s*("[^"<]*"|'[^'<]*')`, 'y');

function checkText(text: string, at: number): void {
  for (const m of text.matchAll(/&([^;\s]*);?/g)) {
    if (!/^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);$/.test(m[0])) throw new Error(`bad entity ${JSON.stringify(m[0])} at ${at + m.index}`);
  }
  if (text.includes(']]>')) throw new Error(`"]]>" in text at ${at}`);
}

export function checkXml(xml: string): XmlRoot {
  let i = 0;
  const stack: string[] = [];
  let root: XmlRoot | undefined;
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) throw new Error('unterminated XML declaration');
    i = end + 2;
  }
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (stack.length === 0 && text.trim() !== '') throw new Error(`text outside the root element at ${i}`);
    checkText(text, i);
    if (lt < 0) break;
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt);
      if (end < 0) throw new Error(`unterminated comment at ${lt}`);
      i = end + 3;
      continue;
    }
    if (xml.startsWith('</', lt)) {
      const m = new RegExp(`</(${NAME})\\s*>`, 'y');
      m.lastIndex = lt;
      const close = m.exec(xml);
      if (!close) throw new Error(`bad closing tag at ${lt}`);
      const open = stack.pop();
      if (open !== close[1]) throw new Error(`</${close[1]}> at ${lt} closes <${open ?? 'nothing'}>`);
      i = m.lastIndex;
      continue;
    }
    const nameRe = new RegExp(`<(${NAME})`, 'y');
    nameRe.lastIndex = lt;
    const nm = nameRe.exec(xml);
    if (!nm) throw new Error(`bad tag at ${lt}: ${JSON.stringify(xml.slice(lt, lt + 20))}`);
    let j = nameRe.lastIndex;
    const attributes: Record<string, string> = {};
    for (;;) {
      ATTR.lastIndex = j;
      const a = ATTR.exec(xml);
      if (!a) break;
      if (a[1]! in attributes) throw new Error(`attribute ${a[1]} twice in <${nm[1]}> at ${lt}`);
      const value = a[2]!.slice(1, -1);
      checkText(value, j);
      attributes[a[1]!] = value;
      j = ATTR.lastIndex;
    }
    const end = /\s*(\/?)>/y;
    end.lastIndex = j;
    const e = end.exec(xml);
    if (!e) throw new Error(`bad attribute or unterminated tag <${nm[1]}> at ${j}`);
    if (stack.length === 0) {
      if (root) throw new Error(`a second root element <${nm[1]}> at ${lt}`);
      root = { name: nm[1]!, attributes, elements: 0 };
    }
    root!.elements++;
    if (e[1] !== '/') stack.push(nm[1]!);
    i = end.lastIndex;
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('> <')}>`);
  if (!root) throw new Error('no root element');
  return root;
}
