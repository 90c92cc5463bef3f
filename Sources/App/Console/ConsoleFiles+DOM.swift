extension ConsoleFiles {
    /// `dom.js`: elements built with text nodes and attributes only, never HTML from the API.
    static let dom = ConsoleAsset(name: "dom.js", contentType: "text/javascript; charset=utf-8", text: #"""
// Builds elements from data with text nodes and attributes only: nothing from the API is ever
// parsed as HTML.
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else if (key === 'value') node.value = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function replace(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
}

export function badge(status) {
  return el('span', { class: 'badge ' + String(status).replace(/[^a-z_]/g, ''), 'data-status': status }, String(status).replace(/_/g, ' '));
}

export function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

export function json(value) {
  return el('pre', { class: 'json' }, JSON.stringify(value, null, 2));
}

export function problem(error) {
  return el('p', { class: 'error', role: 'alert' }, error && error.message ? error.message : String(error));
}
"""#)
}
