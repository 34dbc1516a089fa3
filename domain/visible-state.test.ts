import { decodeWait, describeWait, encodeWait, WAIT_FILTERS, waitFilterText, waitingText, waitSearch, type Wait } from './visible-state';

/** One of each kind, as the workflow writes them. */
const EVERY_WAIT: Wait[] = [
  { kind: 'data' },
  { kind: 'seat', orgKey: 'north-clinic' },
  { kind: 'propagation', windows: ['tags', 'securityRole'] },
  { kind: 'propagation', windows: ['settle'] },
  { kind: 'startDate' },
  { kind: 'acceptance' },
  { kind: 'resendInvitation' },
  { kind: 'reactivation' },
  { kind: 'endDate' },
  { kind: 'endDateChange' },
  { kind: 'decision', action: 'suspend' },
  { kind: 'decision', action: 'terminate' },
  { kind: 'changeOrRetry' },
];

describe('the waitingFor vocabulary', () => {
  test('when a wait is encoded and decoded, then it is the same wait', () => {
    for (const w of EVERY_WAIT) expect(decodeWait(encodeWait(w))).toEqual(w);
  });

  test('when 0.2 stored a waitingFor, then it still decodes (histories and rows written before keep their meaning)', () => {
    const stored = ['seat:org-1', 'propagation:tags,securityRole', 'decision:terminate', 'endDate change', 'change or retry', 'acceptance'];
    expect(stored.map((s) => (decodeWait(s) ? encodeWait(decodeWait(s)!) : undefined))).toEqual(stored);
  });

  test('when a stored string is unknown, then it is not decoded and its text shows it as it is', () => {
    expect(decodeWait('propagation:')).toBeUndefined();
    expect(decodeWait('decision:approve')).toBeUndefined();
    expect(decodeWait('something new')).toBeUndefined();
    expect(waitingText('something new')).toBe('something new');
    expect(waitingText(null)).toBe('');
  });

  test('when a wait is described, then the words carry no raw token', () => {
    for (const w of EVERY_WAIT) {
      const text = describeWait(w);
      expect(text).not.toMatch(/[a-z][A-Z]|:/); // no camelCase token, no `kind:param`
      expect(text.length).toBeGreaterThan(5);
    }
    expect(waitingText('decision:suspend')).toBe('a Super User to allow or reject the suspension');
    expect(waitingText('propagation:tags,securityRole')).toBe('the application to pick up the employee-area tags and security role');
    expect(waitingText('seat:north')).toBe('a free licence seat in north');
  });

  test('when users are searched by a kind, then every wait of that kind matches; by a stored string, only that one', () => {
    expect(waitSearch('seat')).toEqual({ prefix: 'seat:' });
    expect(waitSearch('changeOrRetry')).toEqual({ exact: 'change or retry' });
    expect(waitSearch('change or retry')).toEqual({ exact: 'change or retry' });
    expect(waitSearch('seat:north')).toEqual({ exact: 'seat:north' });
    expect(waitSearch('decision')).toEqual({ prefix: 'decision:' });
    expect(waitSearch('nonsense')).toBeUndefined();
    for (const kind of WAIT_FILTERS) expect(waitFilterText(kind)).not.toMatch(/[a-z][A-Z]/);
  });
});
