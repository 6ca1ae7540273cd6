import { describe, expect, it } from 'vitest';
import { statItems, type GatewayStats } from '../../dashboard/gateway-stats.js';

const base: GatewayStats = {
  connections: { tcp: 10, ws: 2 },
  readings: { stored: 12345, rejected: { bad_json: 2, bad_ts: 1 } },
  dropped: { overload: 0, rate_limited: 0 },
  forwardDropped: 0,
  topShedders: [],
  memory: { rssBytes: 150 * 2 ** 20, pressure: false },
};

describe('gateway stats strip', () => {
  it('sums connections and refusals and shows nothing alarming on a calm gateway', () => {
    const items = statItems(base);
    expect(items.map((i) => [i.key, i.value])).toEqual([
      ['connections', '12'], ['stored', '12,345'], ['rejected', '3'], ['shed', '0 / 0'], ['slow', '0'], ['memory', '150 MiB'],
    ]);
    expect(items.some((i) => i.alert)).toBe(false);
  });

  it('flags shed QoS 0, slow-subscriber drops and memory pressure, naming the worst shedder', () => {
    const items = statItems({
      ...base,
      dropped: { overload: 5000, rate_limited: 20 },
      forwardDropped: 7,
      topShedders: [{ clientId: 'flood-3', shed: 4000 }],
      memory: { rssBytes: 480 * 2 ** 20, pressure: true },
    });
    const byKey = Object.fromEntries(items.map((i) => [i.key, i]));
    expect(byKey.shed).toMatchObject({ value: '5,000 / 20 · most: flood-3', alert: true });
    expect(byKey.slow).toMatchObject({ value: '7', alert: true });
    expect(byKey.memory).toMatchObject({ value: '480 MiB (over its limit)', alert: true });
  });
});
