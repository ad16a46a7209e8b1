// Submit: a form per job type, generated from the input JSON Schema of GET /v1/types. The browser does not
// validate (the form is `novalidate`): the server does, and its message is shown next to the field it names
// (`input.limit: must be at most …`), or above the form.

import { api } from './api.js';
import { h, replace } from './dom.js';

/** A form control for one property of the input schema, and how to read its value back. */
function control(name, schema, required) {
  const id = `field-${name}`;
  const describedBy = `${id}-error`;
  const common = { id, name, 'aria-describedby': describedBy };
  let input;
  let read;
  if (Array.isArray(schema.enum)) {
    input = h('select', common,
      required ? null : h('option', { value: '' }, '(none)'),
      schema.enum.map((v, i) => h('option', { value: String(i) }, JSON.stringify(v))));
    read = () => (input.value === '' ? undefined : schema.enum[Number(input.value)]);
  } else if (schema.type === 'boolean') {
    input = h('input', { ...common, type: 'checkbox', checked: schema.default === true });
    read = () => input.checked;
  } else if (schema.type === 'integer' || schema.type === 'number') {
    input = h('input', {
      ...common, type: 'text', inputmode: schema.type === 'integer' ? 'numeric' : 'decimal',
      placeholder: schema.default !== undefined ? String(schema.default) : '',
    });
    // Sent as typed when it is not a number, so that the server says what is wrong with it.
    read = () => {
      const text = input.value.trim();
      if (text === '') return undefined;
      const n = Number(text);
      return Number.isFinite(n) ? n : text;
    };
  } else if (schema.type === 'string') {
    input = h('input', { ...common, type: 'text', placeholder: schema.default ?? '' });
    read = () => (input.value === '' && !required ? undefined : input.value);
  } else {
    // Arrays, objects and anything else: JSON text.
    input = h('textarea', { ...common, rows: '3', class: 'mono', placeholder: 'JSON' });
    read = () => {
      const text = input.value.trim();
      if (text === '') return undefined;
      try {
        return JSON.parse(text);
      } catch {
        throw new FieldError(name, 'is not valid JSON');
      }
    };
  }
  const error = h('span', { id: describedBy, class: 'field-error', 'aria-live': 'polite' });
  const hint = [schema.type ?? 'any', schema.minimum !== undefined ? `≥ ${schema.minimum}` : null,
    schema.maximum !== undefined ? `≤ ${schema.maximum}` : null].filter(Boolean).join(', ');
  const row = h('div', { class: 'field', 'data-field': name },
    h('label', { for: id }, name, required ? h('span', { class: 'required', title: 'required' }, ' *') : null),
    input,
    h('span', { class: 'hint' }, schema.description ? `${schema.description} (${hint})` : hint),
    error);
  return { name, row, input, error, read };
}

class FieldError extends Error {
  constructor(field, message) {
    super(`input.${field}: ${message}`);
    this.field = field;
  }
}

export class SubmitView {
  title = 'Submit';

  constructor(typeName) {
    this.typeName = typeName;
  }

  async mount(root) {
    this.root = root;
    replace(root, h('h1', {}, 'Submit a job'), h('p', { class: 'muted' }, 'Loading types…'));
    let types;
    try {
      ({ types } = await api.types());
    } catch (e) {
      if (this.root && e.status !== 401) replace(root, h('h1', {}, 'Submit a job'), h('p', { class: 'error', role: 'alert' }, e.message));
      return;
    }
    if (!this.root) return;
    this.types = types;
    const type = types.find((t) => t.name === this.typeName) ?? types[0];
    this.picker = h('select', { id: 'submit-type', onchange: () => { location.hash = `#/submit/${encodeURIComponent(this.picker.value)}`; } },
      types.map((t) => h('option', { value: t.name, selected: t === type }, t.name)));
    this.formHolder = h('div');
    replace(root, h('h1', {}, 'Submit a job'),
      h('div', { class: 'field' }, h('label', { for: 'submit-type' }, 'Type'), this.picker),
      this.formHolder);
    if (type) this.form(type);
  }

  unmount() {
    this.root = null;
  }

  form(type) {
    const schema = type.input_schema ?? {};
    const properties = schema.type === 'object' && schema.properties ? schema.properties : null;
    const required = new Set(schema.required ?? []);
    // A schema without properties (any object): one JSON field for the whole input.
    this.fields = properties
      ? Object.entries(properties).map(([name, s]) => control(name, s, required.has(name)))
      : [control('input', { type: 'object', description: 'the whole input, as JSON' }, false)];
    this.whole = !properties;
    this.lane = h('select', { id: 'submit-lane', name: 'lane' }, type.lanes.map((l) => h('option', { value: l }, l)));
    this.priority = h('input', { id: 'submit-priority', type: 'text', inputmode: 'numeric', placeholder: '5' });
    this.timeout = h('input', { id: 'submit-timeout', type: 'text', inputmode: 'numeric', placeholder: 'none' });
    this.formError = h('p', { class: 'error', role: 'alert', 'data-form-error': '' });
    this.submitButton = h('button', { type: 'submit' }, 'Submit');
    replace(this.formHolder,
      h('p', {}, type.description),
      h('form', { novalidate: true, onsubmit: (e) => { e.preventDefault(); this.send(type); } },
        h('fieldset', {}, h('legend', {}, 'Input'), this.fields.map((f) => f.row)),
        h('fieldset', {}, h('legend', {}, 'Options'),
          h('div', { class: 'field' }, h('label', { for: 'submit-lane' }, 'Lane'), this.lane),
          h('div', { class: 'field' }, h('label', { for: 'submit-priority' }, 'Priority (0–9)'), this.priority),
          h('div', { class: 'field' }, h('label', { for: 'submit-timeout' }, 'Timeout (ms)'), this.timeout)),
        this.formError,
        this.submitButton));
  }

  clearErrors() {
    replace(this.formError);
    for (const f of this.fields) {
      replace(f.error);
      f.input.removeAttribute('aria-invalid');
    }
  }

  /** Shows a server (or JSON) message next to the field it names, else above the button. */
  showError(message) {
    const match = /^input\.([A-Za-z0-9_$-]+)(?:[.[][^:]*)?: (.*)$/s.exec(message);
    const field = this.whole ? this.fields[0] : match && this.fields.find((f) => f.name === match[1]);
    if (field && (match || this.whole)) {
      replace(field.error, this.whole ? message : match[2]);
      field.input.setAttribute('aria-invalid', 'true');
      field.input.focus();
    } else {
      replace(this.formError, message);
    }
  }

  async send(type) {
    this.clearErrors();
    const spec = { type: type.name, lane: this.lane.value };
    try {
      if (this.whole) {
        const value = this.fields[0].read();
        if (value !== undefined) spec.input = value;
      } else {
        spec.input = {};
        for (const f of this.fields) {
          const value = f.read();
          if (value !== undefined) spec.input[f.name] = value;
        }
      }
    } catch (e) {
      this.showError(e.message);
      return;
    }
    const number = (input, name) => {
      const text = input.value.trim();
      if (text !== '') spec[name] = Number.isFinite(Number(text)) ? Number(text) : text;
    };
    number(this.priority, 'priority');
    number(this.timeout, 'timeout_ms');
    this.submitButton.disabled = true;
    try {
      const view = await api.submit(spec);
      location.hash = `#/jobs/${encodeURIComponent(view.id)}`;
    } catch (e) {
      if (this.root) this.showError(e.message);
    } finally {
      this.submitButton.disabled = false;
    }
  }
}
