// Forms generated from the catalogue's JSON Schemas (the vocabulary of shared/src/catalogue/
// schema.rs): labelled native inputs, enums as selects, x-secret fields as password inputs,
// nested objects as fieldsets, lists with add and remove, free objects as JSON text. Checked in
// the browser with @cfworker/json-schema (an interpreter: no eval, so the strict CSP holds), and
// the API's 400 field errors shown beside the fields they name.
import { Validator } from '@cfworker/json-schema';
import { useState } from 'preact/hooks';

/** The type a field is edited as (a nullable type is its non-null one). */
export const typeOf = (schema) => (Array.isArray(schema?.type) ? schema.type.find((t) => t !== 'null') : schema?.type);
export const isSecret = (schema) => schema?.['x-secret'] === true;
const label = (name) => name.replace(/[_-]+/g, ' ').replace(/^./, (c) => c.toUpperCase());
const idOf = (prefix, path) => `${prefix}-${path.replace(/[^A-Za-z0-9_-]+/g, '-')}`;

/** "/contact/email" (a JSON pointer) → "contact.email"; "/items/0/x" → "items[0].x". */
export function pointerToPath(pointer) {
  return pointer.replace(/^#/, '').split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

/** Field errors of `value` against `schema` ({path: message}); `required` overrides the
 * schema's top-level list (an action's fields the service already supplies are not asked for). */
export function check(schema, value, required = schema.required || []) {
  const errors = {};
  for (const name of required) {
    if (value[name] === undefined || value[name] === null || value[name] === '') errors[name] = 'is required';
  }
  const { required: _, anyOf, ...rest } = schema;
  const result = new Validator(rest, '2020-12', false).validate(value);
  for (const e of result.errors) {
    if (['properties', 'items', 'allOf', 'anyOf', 'if', 'then', '$ref'].includes(e.keyword)) continue;
    const path = pointerToPath(e.instanceLocation) || '(body)';
    errors[path] ??= e.error.replace(/^Instance /, 'The value ').replace(/ at "#[^"]*"/, '');
  }
  return errors;
}

/** A value with its empty parts left out (what the form sends). */
export function prune(value) {
  if (Array.isArray(value)) return value.map(prune).filter((v) => v !== undefined);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      const p = prune(v);
      if (p !== undefined) out[k] = p;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return value === '' || value === null ? undefined : value;
}

/** The fields of an object schema. `value`/`onChange` hold the whole object. */
export function Fields({ schema, value, onChange, errors = {}, prefix = 'f', path = '', required, secretsSet = {}, placeholders = {} }) {
  const props = Object.entries(schema?.properties || {});
  const req = required || schema?.required || [];
  if (!props.length) return <p class="muted">No parameters.</p>;
  return props.map(([name, sub]) => (
    <Field key={name} name={name} schema={sub} prefix={prefix} path={path ? `${path}.${name}` : name} required={req.includes(name)}
      value={value?.[name]} errors={errors} secretSet={secretsSet[name]} placeholder={placeholders[name]}
      onChange={(v) => { const next = { ...(value || {}) }; if (v === undefined) delete next[name]; else next[name] = v; onChange(next); }} />
  ));
}

function Hint({ id, schema, error, extra }) {
  const text = [schema?.description, extra].filter(Boolean).join(' ');
  return (
    <>
      {text && <span class="hint" id={`${id}-hint`}>{text}</span>}
      {error && <span class="field-error" id={`${id}-error`}>{error}</span>}
    </>
  );
}

export function Field({ name, schema, value, onChange, errors, prefix, path, required, secretSet, placeholder }) {
  const id = idOf(prefix, path);
  const error = errors[path];
  const type = typeOf(schema);
  const described = [schema?.description || secretSet ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ') || undefined;
  const common = { id, name: path, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': described, required };
  const title = <>{label(name)}{required && <span class="req" aria-hidden="true"> *</span>}</>;

  if (type === 'object' && schema.properties) {
    return (
      <fieldset class="nested">
        <legend>{title}</legend>
        <Fields schema={schema} value={value} onChange={(v) => onChange(prune(v) && v)} errors={errors} prefix={prefix} path={path} />
        {error && <span class="field-error">{error}</span>}
      </fieldset>
    );
  }
  if (type === 'array') return <ListField {...{ name, schema, value, onChange, errors, prefix, path, required, title, id }} />;
  if (type === 'object') return <JsonField {...{ schema, value, onChange, error, title, id, common }} />;

  let input;
  if (schema?.enum) {
    input = (
      <select {...common} value={value ?? ''} onChange={(e) => onChange(e.currentTarget.value === '' ? undefined : e.currentTarget.value)}>
        <option value="">{required ? 'Choose…' : '(not set)'}</option>
        {schema.enum.filter((v) => v !== null).map((v) => <option key={v} value={v}>{v}</option>)}
      </select>
    );
  } else if (type === 'boolean') {
    input = (
      <select {...common} value={value === undefined ? '' : String(value)} onChange={(e) => onChange(e.currentTarget.value === '' ? undefined : e.currentTarget.value === 'true')}>
        <option value="">(not set)</option><option value="true">Yes</option><option value="false">No</option>
      </select>
    );
  } else if (type === 'integer' || type === 'number') {
    input = (
      <input {...common} type="number" placeholder={placeholder} inputMode={type === 'integer' ? 'numeric' : 'decimal'} step={type === 'integer' ? 1 : 'any'} min={schema.minimum} max={schema.maximum}
        value={value ?? ''} onInput={(e) => { const t = e.currentTarget.value; onChange(t === '' ? undefined : Number.isNaN(Number(t)) ? t : Number(t)); }} />
    );
  } else {
    const secret = isSecret(schema);
    const kind = secret ? 'password' : { email: 'email', uri: 'url', date: 'date' }[schema?.format] || 'text';
    input = (
      <input {...common} type={kind} autoComplete={secret ? 'new-password' : 'off'} spellcheck={false} maxLength={schema?.maxLength}
        placeholder={secretSet ? 'set: leave empty to keep it' : placeholder ?? (schema?.format === 'date-time' ? '2026-12-31T12:00:00Z' : undefined)}
        value={value ?? ''} onInput={(e) => onChange(e.currentTarget.value === '' ? undefined : e.currentTarget.value)} />
    );
  }
  return (
    <div class="field">
      <label for={id}>{title}</label>
      {input}
      <Hint id={id} schema={schema} error={error} extra={secretSet ? 'A value is stored; it is never shown.' : ''} />
    </div>
  );
}

function ListField({ schema, value, onChange, errors, prefix, path, title, id }) {
  const items = Array.isArray(value) ? value : [];
  const itemSchema = schema.items || {};
  const set = (i, v) => { const next = items.slice(); next[i] = v; onChange(next); };
  const remove = (i) => { const next = items.filter((_, j) => j !== i); onChange(next.length ? next : undefined); };
  const empty = typeOf(itemSchema) === 'object' ? {} : undefined;
  return (
    <fieldset class="nested list" id={id}>
      <legend>{title}</legend>
      {items.map((item, i) => (
        <div class="list-item" key={i}>
          {typeOf(itemSchema) === 'object' && itemSchema.properties
            ? <Fields schema={itemSchema} value={item} onChange={(v) => set(i, v)} errors={errors} prefix={prefix} path={`${path}[${i}]`} />
            : <Field name={`item ${i + 1}`} schema={itemSchema} value={item} onChange={(v) => set(i, v)} errors={errors} prefix={prefix} path={`${path}[${i}]`} />}
          <button type="button" class="secondary small" onClick={() => remove(i)} aria-label={`Remove item ${i + 1} of ${path}`}>Remove</button>
        </div>
      ))}
      <button type="button" class="secondary small" onClick={() => onChange([...items, empty])}>Add {typeOf(itemSchema) === 'object' ? 'an entry' : 'a value'}</button>
      {errors[path] && <span class="field-error">{errors[path]}</span>}
    </fieldset>
  );
}

function JsonField({ value, onChange, error, title, id, common }) {
  const [text, setText] = useState(value === undefined ? '' : JSON.stringify(value, null, 2));
  const [bad, setBad] = useState(null);
  const update = (t) => {
    setText(t);
    if (t.trim() === '') { setBad(null); onChange(undefined); return; }
    try { const v = JSON.parse(t); if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('must be a JSON object'); setBad(null); onChange(v); } catch (e) { setBad(`not a JSON object: ${e.message}`); }
  };
  return (
    <div class="field">
      <label for={id}>{title} <span class="muted">(JSON object)</span></label>
      <textarea {...common} rows={4} spellcheck={false} value={text} onInput={(e) => update(e.currentTarget.value)} aria-invalid={bad || error ? 'true' : undefined} />
      {(bad || error) && <span class="field-error" id={`${id}-error`}>{bad || error}</span>}
    </div>
  );
}

/** The API's field paths, relative to the form's object ("params.x" → "x"). */
export function fieldErrors(apiError, under = 'params') {
  const out = {};
  for (const [k, v] of Object.entries(apiError?.fields || {})) out[k.startsWith(`${under}.`) ? k.slice(under.length + 1) : k] = v;
  return out;
}
