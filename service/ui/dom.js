// DOM helpers: elements are built with properties and text nodes only (never HTML strings), so nothing a
// job carries (types, notes, output, errors) can become markup.

/** Creates `<tag>` with attributes (`class`, `data-*`, `aria-*`, …), properties (`on*` handlers, `value`,
 *  `checked`, …) and children (nodes, strings, numbers; null/false skipped; arrays flattened). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'value' || name === 'checked' || name === 'disabled' || name === 'selected') {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces every child of `element`. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** A `<dl>` of label/value pairs; each value's `<dd>` carries `data-stat="<key>"` for tests and links. */
export function facts(pairs) {
  return h('dl', { class: 'facts' },
    pairs.map(([label, value, key]) => [h('dt', {}, label), h('dd', { 'data-stat': key }, value)]));
}
