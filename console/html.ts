/**
 * HTML of the console's pages: a tagged template that escapes every interpolated value unless it
 * is already Html (a fragment built the same way), so data from identity providers (names, group
 * names, error texts) can never become markup. Arrays render item by item; null, undefined and
 * false render nothing.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export type Renderable = Html | string | number | boolean | null | undefined | Renderable[];

function render(value: Renderable): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Renderable[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i += 1) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** Markup from a trusted source (the project's own rendered Markdown); never for data. */
export function trusted(markup: string): Html {
  return new Html(markup);
}

/** A JSON value for a data-* attribute (escaped as any attribute value). */
export function jsonAttr(value: unknown): string {
  return JSON.stringify(value);
}
