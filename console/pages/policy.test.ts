import { collapseDiff } from './policy';

const same = (n: number, from = 1) => Array.from({ length: n }, (_, i) => ({ kind: 'same' as const, text: `line ${from + i}` }));

describe('the policy diff, collapsed', () => {
  test('when a change sits in a long unchanged file, then 3 lines of context stay on each side and the rest are counted', () => {
    const lines = [...same(10), { kind: 'removed' as const, text: 'a: 1' }, { kind: 'added' as const, text: 'a: 2' }, ...same(10, 11)];
    expect(collapseDiff(lines)).toEqual([
      { kind: 'skipped', count: 7 },
      ...same(3, 8),
      { kind: 'removed', text: 'a: 1' },
      { kind: 'added', text: 'a: 2' },
      ...same(3, 11),
      { kind: 'skipped', count: 7 },
    ]);
  });

  test('when two changes are close, then the lines between them stay; when far apart, the run between is collapsed', () => {
    const close = [{ kind: 'added' as const, text: 'x' }, ...same(6), { kind: 'added' as const, text: 'y' }];
    expect(collapseDiff(close)).toEqual(close);
    const far = [{ kind: 'added' as const, text: 'x' }, ...same(8), { kind: 'added' as const, text: 'y' }];
    expect(collapseDiff(far)).toEqual([far[0], ...same(3), { kind: 'skipped', count: 2 }, ...same(3, 6), far[9]]);
    // One line between would be replaced by a marker as long as itself: it is shown.
    const seven = [{ kind: 'added' as const, text: 'x' }, ...same(7), { kind: 'added' as const, text: 'y' }];
    expect(collapseDiff(seven)).toEqual(seven);
  });
});
