/**
 * A tiny auto-escaping template: every interpolated value is escaped unless
 * it is already `Html`, so a JID, a username typed into the form or a
 * configured app name can never inject markup.
 */
export class Html {
  public constructor(public readonly value: string) {}
  public toString(): string {
    return this.value;
  }
}

export type Part = Html | string | number | boolean | null | undefined | readonly Part[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);

const render = (part: Part): string => {
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map(render).join('');
  if (part === null || part === undefined || part === false || part === true) return '';
  return escapeHtml(String(part));
};

export const html = (strings: TemplateStringsArray, ...values: Part[]): Html =>
  new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? render(values[i] as Part) : ''), ''));

/** Markup we produced ourselves (the QR code's SVG). */
export const trusted = (markup: string): Html => new Html(markup);
