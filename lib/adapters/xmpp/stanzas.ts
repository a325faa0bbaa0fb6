/** XML elements as xmpp.js builds them, and the errors a server's answers become. */
import xml from '@xmpp/xml';

export interface XmlElement {
  name: string;
  attrs: Record<string, string | undefined>;
  children: (XmlElement | string)[];
  getChild(name: string, ns?: string): XmlElement | undefined;
  getChildren(name: string, ns?: string): XmlElement[];
  getChildText(name: string, ns?: string): string | null;
  text(): string;
}

export const x = xml as (name: string, attrs?: Record<string, string | undefined>, ...children: unknown[]) => XmlElement;

/** An IQ error answer, keeping its protocol fields. */
export class XmppStanzaError extends Error {
  public constructor(
    public readonly condition: string,
    public readonly type: string,
    public readonly text?: string
  ) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = 'XmppStanzaError';
  }
}

/**
 * A login that did not happen, with its SASL condition (`not-authorized`,
 * or our own refusal such as `server-signature-mismatch`). Internal: it
 * travels as the `cause` of a public `xmpp-unavailable`, never in its body.
 */
export class XmppAuthError extends Error {
  public constructor(
    public readonly condition: string,
    message: string
  ) {
    super(message);
    this.name = 'XmppAuthError';
  }
}

/** An IQ error answer as an XmppStanzaError. */
export const stanzaError = (stanza: XmlElement): XmppStanzaError => {
  const error = stanza.getChild('error');
  const condition = error?.children.find((c): c is XmlElement => typeof c !== 'string' && c.name !== 'text')?.name ?? 'undefined-condition';
  return new XmppStanzaError(condition, error?.attrs.type ?? 'cancel', error?.getChildText('text') ?? undefined);
};
