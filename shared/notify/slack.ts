/**
 * Slack incoming-webhook messages: a `text` fallback (what notifications and screen readers show) and
 * Block Kit blocks inside Slack's limits (docs/notifications.md "Slack"): at most 50 blocks, a header's
 * 150 characters, a section's 3,000, ten fields of 2,000, a button's 75-character label.
 */
import { truncate } from '../kernel/text';
import type { Digest } from './digest';
import { labelOf, type Presentation, type Tone } from './presentation';

export const MAX_SLACK_BLOCKS = 50;
export const MAX_SECTION_CHARS = 3_000;
const MAX_HEADER_CHARS = 150;
const MAX_FIELD_CHARS = 2_000;
const MAX_FIELDS = 10;
const MAX_BUTTON_LABEL = 75;
const MAX_BUTTONS = 25;

type PlainText = { type: 'plain_text'; text: string };
type Markdown = { type: 'mrkdwn'; text: string };

export type SlackBlock =
  | { type: 'header'; text: PlainText }
  | { type: 'section'; text?: Markdown; fields?: Markdown[] }
  | { type: 'context'; elements: Markdown[] }
  | { type: 'actions'; elements: { type: 'button'; text: PlainText; url: string }[] };

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

const EMOJI: Record<Tone, string> = {
  attention: ':red_circle:',
  warning: ':warning:',
  good: ':white_check_mark:',
  neutral: ':information_source:',
};

/** Slack's mrkdwn reads `&`, `<` and `>` as markup: text from an alert must stay text. */
export function escapeSlack(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const markdown = (value: string, max: number): Markdown => ({
  type: 'mrkdwn',
  // Never leave half an entity at the cut.
  text: truncate(value, max).replace(/&[a-z]*…$/, '…'),
});

const header = (value: string): SlackBlock => ({
  type: 'header',
  text: { type: 'plain_text', text: truncate(value, MAX_HEADER_CHARS) },
});

function eventBlocks(view: Presentation): SlackBlock[] {
  const fields = view.facts
    .slice(0, MAX_FIELDS)
    .map((fact) => markdown(`*${fact.title}*\n${escapeSlack(fact.value)}`, MAX_FIELD_CHARS));
  const blocks: SlackBlock[] = [header(`${view.headline}`), { type: 'section', fields }];
  const buttons = view.links.slice(0, MAX_BUTTONS).map((link) => ({
    type: 'button' as const,
    text: { type: 'plain_text' as const, text: truncate(link.title, MAX_BUTTON_LABEL) },
    url: link.url,
  }));
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });
  return blocks;
}

export function eventMessage(view: Presentation): SlackMessage {
  return {
    text: truncate(`${EMOJI[view.tone]} ${view.headline}`, MAX_SECTION_CHARS),
    blocks: eventBlocks(view),
  };
}

/** One line of a listed event in a digest. */
function digestLine(view: Presentation): string {
  const first = view.links[0];
  const headline = escapeSlack(view.headline);
  return `${EMOJI[view.tone]} ${first ? `<${first.url}|${headline}>` : headline}`;
}

/**
 * The digest: counts, then the listed events as lines packed into sections of at most 3,000
 * characters, while the blocks last; the rest is counted with a link.
 */
export function digestMessage(digest: Digest, views: readonly Presentation[]): SlackMessage {
  const title = `mde-isolator: ${digest.total} events since ${digest.since.slice(11, 16)} UTC`;
  const counts = digest.counts.map(({ kind, count }) => `${labelOf(kind)}: *${count}*`).join('\n');
  const blocks: SlackBlock[] = [
    header(title),
    { type: 'section', text: markdown(counts, MAX_SECTION_CHARS) },
  ];
  // Two blocks stay free: the "and more" line and its link.
  const room = MAX_SLACK_BLOCKS - blocks.length - 2;
  let listed = 0;
  let section = '';
  let sections = 0;
  for (const view of views) {
    const line = digestLine(view);
    if (line.length > MAX_SECTION_CHARS) continue;
    if (section.length + line.length + 1 > MAX_SECTION_CHARS) {
      if (sections + 1 >= room) break;
      blocks.push({ type: 'section', text: markdown(section, MAX_SECTION_CHARS) });
      sections += 1;
      section = '';
    }
    section = section ? `${section}\n${line}` : line;
    listed += 1;
  }
  if (section) blocks.push({ type: 'section', text: markdown(section, MAX_SECTION_CHARS) });
  const more = digest.total - listed;
  if (more > 0)
    blocks.push(
      { type: 'context', elements: [markdown(`and ${more} more not listed`, MAX_SECTION_CHARS)] },
      {
        type: 'actions',
        elements: [
          { type: 'button', text: { type: 'plain_text', text: 'See all in Defender' }, url: digest.moreUrl },
        ],
      },
    );
  return { text: title, blocks };
}
