/**
 * Adaptive Cards for Teams, built from typed parts so a card is valid by construction: schema 1.5
 * (the highest Teams renders), only TextBlock, FactSet, Container and Action.OpenUrl, inside the
 * Workflows webhook envelope, under the message size Teams accepts (docs/notifications.md "Teams").
 */
import type { Digest } from './digest';
import { type Fact, type Link, labelOf, type Presentation, type Tone } from './presentation';

export const CARD_SCHEMA_URL = 'http://adaptivecards.io/schemas/adaptive-card.json';
export const CARD_VERSION = '1.5';
/** Teams refuses a message above about 28 KB; the whole envelope is kept under this. */
export const MAX_TEAMS_MESSAGE_BYTES = 28 * 1024;
/** Teams shows at most six buttons on a card. */
export const MAX_CARD_ACTIONS = 6;

type TextColor = 'Default' | 'Attention' | 'Warning' | 'Good' | 'Accent';

export interface TextBlock {
  type: 'TextBlock';
  text: string;
  wrap: true;
  weight?: 'Bolder';
  size?: 'Medium' | 'Large' | 'Small';
  color?: TextColor;
  isSubtle?: boolean;
  spacing?: 'Small' | 'Medium';
  separator?: boolean;
}

export interface FactSet {
  type: 'FactSet';
  facts: Fact[];
}

export interface Container {
  type: 'Container';
  items: CardElement[];
  separator?: boolean;
}

export type CardElement = TextBlock | FactSet | Container;

export interface OpenUrlAction {
  type: 'Action.OpenUrl';
  title: string;
  url: string;
}

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: typeof CARD_SCHEMA_URL;
  version: typeof CARD_VERSION;
  body: CardElement[];
  actions?: OpenUrlAction[];
}

/** The body a Teams Workflows webhook ("When a Teams webhook request is received") posts as a card. */
export interface TeamsMessage {
  type: 'message';
  attachments: [
    { contentType: 'application/vnd.microsoft.card.adaptive'; contentUrl: null; content: AdaptiveCard },
  ];
}

const COLOR: Record<Tone, TextColor> = {
  attention: 'Attention',
  warning: 'Warning',
  good: 'Good',
  neutral: 'Default',
};

export function text(value: string, style: Omit<TextBlock, 'type' | 'text' | 'wrap'> = {}): TextBlock {
  return { type: 'TextBlock', text: value, wrap: true, ...style };
}

export function factSet(facts: Fact[]): FactSet {
  return { type: 'FactSet', facts };
}

export function card(body: CardElement[], links: Link[]): AdaptiveCard {
  const actions = links
    .slice(0, MAX_CARD_ACTIONS)
    .map((link): OpenUrlAction => ({ type: 'Action.OpenUrl', title: link.title, url: link.url }));
  return {
    type: 'AdaptiveCard',
    $schema: CARD_SCHEMA_URL,
    version: CARD_VERSION,
    body,
    ...(actions.length > 0 && { actions }),
    // No `msteams: { width: "Full" }`: Teams reads it, but the published 1.5 schema allows no property
    // it does not name (AdaptiveCard has additionalProperties false), and the card must validate.
  };
}

export function teamsMessage(content: AdaptiveCard): TeamsMessage {
  return {
    type: 'message',
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content }],
  };
}

/**
 * Adaptive Card text is a small Markdown, which renderers treat differently (Teams applies it, others
 * show a backslash escape as it is): so no escaping, only alert text kept from forming a Markdown link,
 * whose label could hide where it leads. A bare URL stays visible as what it is.
 */
export function defuseLinks(value: string): string {
  return value.replace(/\]\(/g, '] (');
}

/** The card of one event. */
export function eventCard(view: Presentation): AdaptiveCard {
  return card(
    [
      text(defuseLinks(view.headline), { weight: 'Bolder', size: 'Medium', color: COLOR[view.tone] }),
      factSet(view.facts.map((f) => ({ title: f.title, value: defuseLinks(f.value) }))),
    ],
    view.links,
  );
}

export function byteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Room kept for the "and more" line when a digest is packed. */
const DIGEST_RESERVE_BYTES = 1_024;

/**
 * The digest card: counts, then one line per listed event (a link to its first page) while the
 * envelope stays under MAX_TEAMS_MESSAGE_BYTES, then how many more and where to see them.
 */
export function digestCard(digest: Digest, views: readonly Presentation[]): AdaptiveCard {
  const body: CardElement[] = [
    text(`mde-isolator: ${digest.total} events since ${digest.since.slice(11, 16)} UTC`, {
      weight: 'Bolder',
      size: 'Medium',
    }),
    factSet(digest.counts.map(({ kind, count }) => ({ title: labelOf(kind), value: String(count) }))),
  ];
  const links = [{ title: 'See all in Defender', url: digest.moreUrl }];
  let size = byteLength(teamsMessage(card(body, links)));
  let listed = 0;
  for (const view of views) {
    const first = view.links[0];
    const headline = defuseLinks(view.headline);
    const line = text(first ? `[${headline}](${first.url})` : headline, {
      spacing: 'Small',
      color: COLOR[view.tone],
    });
    const lineBytes = byteLength(line) + 1;
    if (size + lineBytes > MAX_TEAMS_MESSAGE_BYTES - DIGEST_RESERVE_BYTES) break;
    body.push(line);
    size += lineBytes;
    listed += 1;
  }
  const more = digest.total - listed;
  if (more > 0) body.push(text(`and ${more} more not listed`, { isSubtle: true, separator: true }));
  return card(body, links);
}
