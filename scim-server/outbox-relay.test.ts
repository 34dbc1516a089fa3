import { Pacing } from './outbox-relay';

describe('relay pacing while the API is busy', () => {
  test('when the API is quiet, then a pass takes the normal limits', () => {
    expect(new Pacing({ busy: () => false }).limits()).toEqual({ batchSize: 200, concurrency: 32 });
  });

  test('when busy passes keep delivering full batches, then each doubles the next, up to the normal limits; a short pass starts small again', () => {
    const pacing = new Pacing({ busy: () => true });
    const seen = [];
    for (let i = 0; i < 6; i++) {
      const limits = pacing.limits();
      seen.push(limits);
      pacing.passed(limits, limits.batchSize);
    }
    expect(seen).toEqual([
      { batchSize: 16, concurrency: 4 },
      { batchSize: 32, concurrency: 8 },
      { batchSize: 64, concurrency: 16 },
      { batchSize: 128, concurrency: 32 },
      { batchSize: 200, concurrency: 32 },
      { batchSize: 200, concurrency: 32 },
    ]);
    pacing.passed(pacing.limits(), 3);
    expect(pacing.limits()).toEqual({ batchSize: 16, concurrency: 4 });
  });
});
