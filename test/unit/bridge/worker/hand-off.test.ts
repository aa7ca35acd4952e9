import { describe, expect, it } from 'vitest';
import {
  type CommittedPut,
  HandedOver,
  handOffVerdict,
  type OfferContext,
  ReceivedRevisions,
} from '../../../../bridge/worker/hand-off.js';

const put = (revision: number, prevModRevision?: number): CommittedPut => ({
  key: '/job/k',
  value: Buffer.from('{}'),
  revision: BigInt(revision),
  prevModRevision: prevModRevision === undefined ? undefined : BigInt(prevModRevision),
});

const context = (overrides: Partial<OfferContext> = {}): OfferContext => ({
  watching: true,
  takesPuts: true,
  room: true,
  watchNext: 50n,
  received: { revision: 40n, type: 'put' },
  ...overrides,
});

describe('handOffVerdict', () => {
  it('takes a put whose previous value is the newest event received of its key', () => {
    expect(handOffVerdict(put(60, 40), context())).toBe('take');
  });

  it('declines a put whose key changed after the newest event received (it would overtake it)', () => {
    expect(handOffVerdict(put(60, 45), context())).toBe('would-overtake');
    // The key was deleted (and maybe re-created) since the put received: prev_kv absent.
    expect(handOffVerdict(put(60), context())).toBe('would-overtake');
  });

  it('takes a put of a key that did not exist when the newest event received is its delete', () => {
    expect(handOffVerdict(put(60), context({ received: { revision: 42n, type: 'delete' } }))).toBe('take');
    // A previous value that the route never received is not a delete's successor.
    expect(handOffVerdict(put(60, 41), context({ received: { revision: 42n, type: 'delete' } }))).toBe(
      'would-overtake',
    );
  });

  it('declines a key the route knows nothing of (never seen or evicted)', () => {
    expect(handOffVerdict(put(60), context({ received: undefined }))).toBe('unknown-key');
    expect(handOffVerdict(put(60, 40), context({ received: undefined }))).toBe('unknown-key');
  });

  it('declines what the watch has delivered already', () => {
    expect(handOffVerdict(put(49, 40), context())).toBe('delivered');
    expect(handOffVerdict(put(60, 40), context({ received: { revision: 60n, type: 'put' } }))).toBe(
      'delivered',
    );
  });

  it('declines unless the route and its watch are watching, take puts and have room', () => {
    expect(handOffVerdict(put(60, 40), context({ watching: false }))).toBe('not-watching');
    expect(handOffVerdict(put(60, 40), context({ takesPuts: false }))).toBe('event-type');
    expect(handOffVerdict(put(60, 40), context({ room: false }))).toBe('no-room');
  });
});

describe('ReceivedRevisions', () => {
  it('keeps the newest revision and type per key, never going back', () => {
    const received = new ReceivedRevisions(10);
    received.note('a', 5n, 'put');
    received.note('a', 7n, 'delete');
    received.note('a', 6n, 'put'); // older (a record handed over came first): ignored
    expect(received.get('a')).toEqual({ revision: 7n, type: 'delete' });
    expect(received.get('b')).toBeUndefined();
  });

  it('evicts the key changed least recently beyond its capacity', () => {
    const received = new ReceivedRevisions(2);
    received.note('a', 1n, 'put');
    received.note('b', 2n, 'put');
    received.note('a', 3n, 'put'); // a is now the most recent
    received.note('c', 4n, 'put');
    expect(received.get('b')).toBeUndefined();
    expect(received.get('a')?.revision).toBe(3n);
    expect(received.size).toBe(2);
  });
});

describe('HandedOver', () => {
  it('drops the watch copy of a record handed over once, and forgets what the watch passed', () => {
    const handed = new HandedOver();
    handed.add('a', 10n);
    handed.add('b', 11n);
    handed.add('c', 20n);
    expect(handed.take('a', 10n)).toBe(true);
    expect(handed.take('a', 10n)).toBe(false); // once
    expect(handed.take('b', 12n)).toBe(false); // another revision of the key
    handed.pruneBelow(15n);
    expect(handed.take('b', 11n)).toBe(false);
    expect(handed.size).toBe(1);
    expect(handed.take('c', 20n)).toBe(true);
  });
});
